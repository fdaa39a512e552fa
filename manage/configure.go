package manage

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// configure points docker at regcred.
func (r *runner) configure(args []string) error {
	fs := flag.NewFlagSet("configure", flag.ContinueOnError)
	fs.SetOutput(r.stderr)
	registries := fs.String("registries", "", "comma-separated registries to route to regcred with credHelpers, leaving credsStore alone")
	undo := fs.Bool("undo", false, "restore the credsStore that configure replaced")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("configure takes no arguments (got %q)", fs.Arg(0))
	}
	path, err := ConfigPath(r.getenv)
	if err != nil {
		return err
	}
	cfg, err := loadDockerConfig(path)
	if err != nil {
		return err
	}
	if *undo {
		return r.unconfigure(cfg)
	}
	if _, err := r.lookPath("docker-credential-" + HelperSuffix); err != nil {
		return errors.New("docker-credential-regcred is not on PATH, so docker would fail every login; install it first (./install.sh) or add its directory to PATH")
	}
	if *registries != "" {
		helpers := map[string]string{}
		if err := cfg.get("credHelpers", &helpers); err != nil {
			return err
		}
		var names []string
		for _, reg := range strings.Split(*registries, ",") {
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
		return r.saveConfig(cfg, fmt.Sprintf("docker now uses regcred for %s", strings.Join(names, ", ")))
	}
	var current string
	if err := cfg.get("credsStore", &current); err != nil {
		return err
	}
	if current != HelperSuffix {
		prev, err := r.loadPrevious()
		if err != nil {
			return err
		}
		if _, remembered := prev[absPath(path)]; !remembered {
			prev[absPath(path)] = current
			if err := r.savePrevious(prev); err != nil {
				return fmt.Errorf("remember the previous credsStore: %w", err)
			}
		}
		if current != "" {
			fmt.Fprintf(r.stderr, "replacing credsStore %q: its credentials stay where they are; copy them with `docker-credential-regcred import --from-helper %s`\n", current, current)
		}
		if err := cfg.set("credsStore", HelperSuffix); err != nil {
			return err
		}
	}
	if n := len(plaintextAuths(cfg)); n > 0 {
		fmt.Fprintf(r.stderr, "%s holds %d plaintext credential(s): move them into the keyring with `docker-credential-regcred import --from-config`\n", path, n)
	}
	return r.saveConfig(cfg, `docker now stores credentials in the OS keyring ("credsStore": "regcred")`)
}

// unconfigure restores the credsStore configure replaced, if docker still
// uses regcred.
func (r *runner) unconfigure(cfg *dockerConfig) error {
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
	msg := "docker no longer uses regcred"
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
