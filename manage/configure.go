package manage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/regcred/regcred/store"

	"github.com/regcred/regcred/internal/atomicfile"
)

// previousFile, in regcred's state directory, remembers for each
// config.json the credsStore configure replaced, so that `configure --undo`
// (run by install.sh --uninstall) can put it back. Not in config.json
// itself: docker's own Save, run by every docker login, drops unknown fields.
const previousFile = "configure-previous.json"

// previous maps an absolute config.json path to the credsStore it had.
type previous map[string]string

func (r *runner) loadPrevious() (previous, error) {
	p := previous{}
	data, err := os.ReadFile(filepath.Join(r.stateDir, previousFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(r.stateDir, previousFile), err)
	}
	return p, nil
}

func (r *runner) savePrevious(p previous) error {
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.stateDir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(r.stateDir, previousFile), data, 0o600)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// configure wires registry clients to regcred, each in its own convention.
func (r *runner) configure(args []string) error {
	fs := flags("configure")
	toolList := fs.String("tools", "", "the clients to wire, a comma-separated `list` of "+toolNames()+" (default: docker, and every other one that is installed)")
	registries := fs.String("registries", "", "the `registries` (comma-separated) to route to regcred with docker's credHelpers, leaving its credsStore alone")
	undo := fs.Bool("undo", false, "put back what configure changed")
	backendName := fs.String("backend", "", "the `keyring` to keep credentials in: "+strings.Join(store.Names(), " or ")+"; credentials the current one holds move there (default: the one recorded, else under WSL the Windows Credential Manager where interop runs regcred's Windows build, else a Secret Service if one answers, else the kernel keyring)")
	noMove := fs.Bool("no-move", false, "with --backend, switch without moving the credentials the current keyring holds")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("configure takes no arguments (got %q)", fs.Arg(0))
	}
	if *registries != "" && *toolList != "" && *toolList != "docker" {
		return errors.New("--registries sets docker's credHelpers: use it with --tools docker, or alone")
	}
	if *registries != "" {
		*toolList = "docker"
	}
	if *undo && *backendName != "" {
		return errors.New("--undo puts the clients back and leaves the keyring as it is: use it without --backend")
	}
	// --undo covers every tool, installed or not: nothing of regcred's stays.
	selected, err := r.selectTools(*toolList, *undo)
	if err != nil {
		return err
	}
	if !*undo {
		if _, err := r.lookPath("docker-credential-" + HelperSuffix); err != nil {
			return errors.New("docker-credential-regcred is not on PATH, so every client would fail to log in; install it first (./install.sh) or add its directory to PATH")
		}
	}
	// Read every file first, so that bad input in one changes none.
	for _, t := range selected {
		if err := r.checkTool(t, *undo); err != nil {
			return err
		}
	}
	if !*undo {
		if err := r.chooseKeyring(*backendName, *noMove); err != nil {
			return err
		}
	}
	for _, t := range selected {
		var err error
		path, perr := r.toolFile(t)
		switch {
		case perr != nil:
			err = perr
		case t.name == "containers":
			err = r.configureContainers(path, *undo)
		case t.name == "docker":
			err = r.configureConfig("docker", path, *registries, *undo)
		default:
			err = r.configureConfig(t.name, path, "", *undo)
		}
		if err != nil {
			return err
		}
	}
	if !*undo {
		r.hintPlaintext()
	}
	return nil
}

// checkTool reads what configure would change for tool t and reports what
// it could not use, changing nothing.
func (r *runner) checkTool(t tool, undo bool) error {
	path, err := r.toolFile(t)
	if err != nil {
		return err
	}
	if t.name == "containers" {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("read %s: %w", path, err)
		}
		if undo && err == nil && !strings.HasPrefix(string(b), dropInMarker) {
			return fmt.Errorf("%s was not written by regcred; remove it yourself if podman, buildah and skopeo should not use regcred", path)
		}
		return nil
	}
	cfg, err := loadDockerConfig(path)
	if err != nil {
		return err
	}
	var store string
	helpers := map[string]string{}
	if err := cfg.get("credsStore", &store); err != nil {
		return err
	}
	return cfg.get("credHelpers", &helpers)
}

// hintPlaintext names, on stderr, each client file that still holds a
// plaintext credential: once a client uses regcred it no longer reads them.
func (r *runner) hintPlaintext() {
	files, err := r.clientFiles()
	if err != nil {
		return
	}
	for _, f := range files {
		if n, err := countPlaintext(f); err == nil && n > 0 {
			fmt.Fprintf(r.stderr, "%s holds %d plaintext credential(s): move them into the keyring with `docker-credential-regcred import`\n", f.path, n)
		}
	}
}

// configureConfig sets credsStore (or, with registries, credHelpers) in a
// docker-format config — docker's config.json, or helm's registry config,
// which helm reads the same way (through oras-go) — or with undo puts back
// what it replaced. who names the client in messages.
func (r *runner) configureConfig(who, path, registries string, undo bool) error {
	cfg, err := loadDockerConfig(path)
	if err != nil {
		return err
	}
	if undo {
		return r.unsetCredsStore(cfg, who)
	}
	if registries == "" {
		return r.setCredsStore(cfg, who, who+" now stores registry credentials in the OS keyring")
	}
	helpers := map[string]string{}
	if err := cfg.get("credHelpers", &helpers); err != nil {
		return err
	}
	var names []string
	for _, reg := range strings.Split(registries, ",") {
		reg = strings.TrimSpace(reg)
		if reg == "" {
			continue
		}
		helpers[reg] = HelperSuffix
		names = append(names, reg)
	}
	if len(names) == 0 {
		return errors.New("--registries names no registry")
	}
	if err := cfg.set("credHelpers", helpers); err != nil {
		return err
	}
	sort.Strings(names)
	return r.saveConfig(cfg, fmt.Sprintf("%s now uses regcred for %s", who, strings.Join(names, ", ")))
}

// setCredsStore points a docker-format config at regcred, remembering the
// credsStore it replaces for --undo.
func (r *runner) setCredsStore(cfg *dockerConfig, who, done string) error {
	var current string
	if err := cfg.get("credsStore", &current); err != nil {
		return err
	}
	if current != HelperSuffix {
		prev, err := r.loadPrevious()
		if err != nil {
			return err
		}
		if _, remembered := prev[absPath(cfg.path)]; !remembered {
			prev[absPath(cfg.path)] = current
			if err := r.savePrevious(prev); err != nil {
				return fmt.Errorf("remember the previous credsStore: %w", err)
			}
		}
		if current != "" {
			fmt.Fprintf(r.stderr, "%s: replacing credsStore %q: its credentials stay where they are; copy them with `docker-credential-regcred import --from-helper %s`\n", who, current, current)
		}
		if err := cfg.set("credsStore", HelperSuffix); err != nil {
			return err
		}
	}
	return r.saveConfig(cfg, done+` ("credsStore": "regcred")`)
}

// configureContainers writes (or with undo removes) the registries.conf
// drop-in that sends podman, buildah and skopeo to regcred.
func (r *runner) configureContainers(path string, undo bool) error {
	current, err := os.ReadFile(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if undo {
		if !exists { // a foreign drop-in was refused by checkTool
			fmt.Fprintf(r.stdout, "%s: absent, nothing changed\n", path)
			return nil
		}
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		fmt.Fprintf(r.stdout, "%s: removed; podman, buildah and skopeo no longer use regcred\n", path)
		return nil
	}
	if exists && string(current) == dropInContent {
		fmt.Fprintf(r.stdout, "%s: already configured, nothing changed\n", path)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := atomicfile.WriteFile(path, []byte(dropInContent), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "%s: podman, buildah and skopeo now store credentials in the OS keyring (credential-helpers = [\"regcred\"])\n", path)
	return nil
}

// unsetCredsStore restores the credsStore configure replaced, if the
// config still uses regcred, and drops credHelpers entries naming regcred.
func (r *runner) unsetCredsStore(cfg *dockerConfig, who string) error {
	var current string
	if err := cfg.get("credsStore", &current); err != nil {
		return err
	}
	prev, err := r.loadPrevious()
	if err != nil {
		return err
	}
	previous := prev[absPath(cfg.path)]
	if current == HelperSuffix {
		if previous == "" {
			delete(cfg.fields, "credsStore")
		} else if err := cfg.set("credsStore", previous); err != nil {
			return err
		}
	}
	helpers := map[string]string{}
	if err := cfg.get("credHelpers", &helpers); err != nil {
		return err
	}
	for reg, h := range helpers {
		if h == HelperSuffix {
			delete(helpers, reg)
		}
	}
	if len(helpers) == 0 {
		delete(cfg.fields, "credHelpers")
	} else if err := cfg.set("credHelpers", helpers); err != nil {
		return err
	}
	if !cfg.exists {
		fmt.Fprintf(r.stdout, "%s: absent, nothing changed\n", cfg.path)
		return nil
	}
	msg := who + " no longer uses regcred"
	if current == HelperSuffix && previous != "" {
		msg += fmt.Sprintf(` ("credsStore": %q restored)`, previous)
	}
	if err := r.saveConfig(cfg, msg); err != nil {
		return err
	}
	if _, ok := prev[absPath(cfg.path)]; ok {
		delete(prev, absPath(cfg.path))
		return r.savePrevious(prev)
	}
	return nil
}

// saveConfig writes cfg if it changed, with a backup, and reports.
func (r *runner) saveConfig(cfg *dockerConfig, done string) error {
	if !cfg.changed() {
		fmt.Fprintf(r.stdout, "%s: already configured, nothing changed\n", cfg.path)
		return nil
	}
	if err := cfg.save(true); err != nil {
		return err
	}
	fmt.Fprintf(r.stdout, "%s: %s\n", cfg.path, done)
	return nil
}
