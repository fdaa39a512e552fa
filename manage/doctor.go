package manage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/store/wsl"

	"github.com/regcred/regcred/internal/oneline"
)

// errChecksFailed is doctor's failure: the checks are already printed.
type errChecksFailed struct{ n int }

func (e errChecksFailed) Error() string { return fmt.Sprintf("%d checks failed", e.n) }

// check is one doctor line.
type check struct {
	name string
	err  error    // nil: passed
	skip bool     // not run, because an earlier check failed
	note string   // what the check could not see, if anything
	warn []string // known faults of what it found, each with what regcred does about it
}

// doctor checks, in order: the binary on PATH, docker's config, the
// keyring (session bus, provider, collection), and every keyring item.
// Each prints ✓ or ✗ with a one-line fix.
func (r *runner) doctor(args []string) error {
	fs := flags("doctor")
	fix := fs.Bool("fix", false, "tidy the keyring: rewrite items an older version wrote, delete chunks left by an interrupted store")
	if err := r.parse(fs, args); err != nil {
		return err
	}
	var checks []check
	add := func(name string, err error) { checks = append(checks, check{name: name, err: err}) }

	add("docker-credential-regcred is on PATH", r.checkOnPath())
	r.checkClients(add)

	keyringOK := r.checkKeyring(&checks)
	if keyringOK {
		note, err := r.checkItems(*fix)
		checks = append(checks, check{name: itemsCheck, err: err, note: note})
	} else {
		checks = append(checks, check{name: itemsCheck, skip: true})
	}

	failed := 0
	for _, c := range checks {
		switch {
		case c.skip:
			fmt.Fprintf(r.stdout, "- %s (not checked)\n", c.name)
		case c.err == nil:
			fmt.Fprintf(r.stdout, "✓ %s\n", c.name)
		default:
			failed++
			fmt.Fprintf(r.stdout, "✗ %s: %s\n", c.name, oneline.Error(c.err))
		}
		for _, w := range c.warn {
			fmt.Fprintf(r.stdout, "  ! %s\n", w)
		}
		if c.note != "" {
			fmt.Fprintf(r.stdout, "  (%s)\n", c.note)
		}
	}
	if failed > 0 {
		return errChecksFailed{failed}
	}
	return nil
}

// checkClients checks that each installed client uses regcred and that no
// client file still holds a plaintext credential, naming the fix.
func (r *runner) checkClients(add func(string, error)) {
	for _, t := range tools {
		found := r.installed(t)
		if len(found) == 0 && !t.always {
			continue
		}
		add(t.label+": wired to regcred", r.wired(t))
	}
	files, err := r.clientFiles()
	if err != nil {
		add("no plaintext credential in any client file", err)
		return
	}
	clean := true
	for _, f := range files {
		n, err := countPlaintext(f)
		if err != nil {
			add("no plaintext credential in "+f.path, err)
			clean = false
			continue
		}
		if n > 0 {
			clean = false
			add("no plaintext credential in "+f.path, fmt.Errorf("%d found (written by %s): run `docker-credential-regcred import`", n, f.owner))
		}
	}
	if clean {
		add("no plaintext credential in any client file", nil)
	}
}

// wired reports, as an error naming the fix, whether tool t uses regcred.
func (r *runner) wired(t tool) error {
	fix := fmt.Sprintf("run `docker-credential-regcred configure --tools %s`", t.name)
	path, err := r.toolFile(t)
	if err != nil {
		return err
	}
	if t.name == "containers" {
		if b, err := os.ReadFile(path); err != nil || string(b) != dropInContent {
			return fmt.Errorf("%s is missing or changed: %s", path, fix)
		}
		return nil
	}
	return usesRegcred(path, fix)
}

// usesRegcred checks a docker-format config names regcred as its
// credsStore or as a credHelper.
func usesRegcred(path, fix string) error {
	cfg, err := loadDockerConfig(path)
	if err != nil {
		return err
	}
	var store string
	var helpers map[string]string
	_ = cfg.get("credsStore", &store)
	_ = cfg.get("credHelpers", &helpers)
	pointed := store == HelperSuffix
	for _, h := range helpers {
		pointed = pointed || h == HelperSuffix
	}
	if !pointed {
		return fmt.Errorf("%s does not name regcred: %s", path, fix)
	}
	return nil
}

// checkOnPath checks docker can find and run the helper.
func (r *runner) checkOnPath() error {
	name := "docker-credential-" + HelperSuffix
	path, err := r.lookPath(name)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrDot):
		// Found relative to the current directory, which Go programs —
		// docker among them — refuse to run from a PATH lookup.
		for _, dir := range filepath.SplitList(r.getenv("PATH")) {
			if dir == "" || dir == "." {
				continue
			}
			if other, err := r.lookPath(filepath.Join(dir, name)); err == nil {
				return fmt.Errorf("the copy in the current directory (%s) shadows the one on PATH (%s), and docker refuses to run it: run from another directory, or remove that copy", path, other)
			}
		}
		return fmt.Errorf("found only in the current directory (%s), which docker refuses to run from a PATH lookup: install it (./install.sh) or add its directory to PATH", path)
	default:
		return errors.New("not found on PATH: install it (./install.sh) or add its directory to PATH")
	}
}

// checkKeyring reports the chosen keyring, then probes it once and
// reports each layer of it.
func (r *runner) checkKeyring(checks *[]check) bool {
	o, err := r.openKeyring()
	if err != nil {
		*checks = append(*checks, check{name: "keyring chosen", err: err})
		return false
	}
	kr := o.Keyring
	*checks = append(*checks, check{name: fmt.Sprintf("keyring chosen: %s (%s)", kr.Name(), o.Choice.Why)})
	err = kr.Probe(r.ctx)
	type layer struct {
		name string
		errs []error
		note string
		warn []string
	}
	var layers []layer
	switch name := kr.Name(); name {
	case "Secret Service":
		layers = []layer{
			{name: "D-Bus session bus", errs: []error{keyring.ErrNoSessionBus}},
			{name: "Secret Service provider on the bus", errs: []error{keyring.ErrNoProvider, keyring.ErrKeyringTimeout}},
			{name: "keyring collection present and unlocked", errs: []error{keyring.ErrNoCollection, keyring.ErrLocked}},
		}
		if p, ok := kr.(providerFinder); ok && err == nil {
			if prov, perr := p.Provider(r.ctx); perr == nil {
				layers[1].name += ": " + prov.String()
				layers[1].warn = prov.Faults()
			}
		}
	case (&wsl.Keyring{}).Name():
		layers = []layer{
			{name: "WSL interop runs Windows programs", errs: []error{wsl.ErrInteropOff, wsl.ErrNoSocket}},
			{name: "regcred's Windows build: " + o.Choice.Windows, errs: []error{wsl.ErrNoWindowsBuild}},
			{name: "Windows Credential Manager answers", errs: []error{wsl.ErrTimeout}},
		}
	case "macOS Keychain":
		layers = []layer{{name: name + " answers", errs: []error{keyring.ErrKeyringTimeout}}, {name: "keychain unlocked"}}
	default: // one store per user, always there: nothing to unlock
		layers = []layer{{name: name + " answers"}}
	}
	if l, ok := kr.(interface{ Limits() string }); ok {
		layers[len(layers)-1].note = l.Limits()
	}
	if o.Choice.Name == keyring.KernelName && wsl.IsWSL(r.getenv) {
		last := &layers[len(layers)-1]
		last.warn = append(last.warn, wslKernelWarning())
	}
	failedAt := -1
	if err != nil {
		failedAt = len(layers) - 1 // an unexpected error: blame the last layer
		for i, l := range layers {
			for _, e := range l.errs {
				if errors.Is(err, e) {
					failedAt = i
				}
			}
		}
	}
	for i, l := range layers {
		switch {
		case failedAt < 0 || i < failedAt:
			*checks = append(*checks, check{name: l.name, note: l.note, warn: l.warn})
		case i == failedAt:
			*checks = append(*checks, check{name: l.name, err: err})
		default:
			*checks = append(*checks, check{name: l.name, skip: true})
		}
	}
	return failedAt < 0
}

// wslKernelWarning says what the kernel keyring loses under WSL, and how
// to keep credentials in the Windows keyring instead.
func wslKernelWarning() string {
	const lost = "under WSL the kernel keyring lives in a VM Windows stops at `wsl --shutdown`, after an idle while and at every restart: every credential is lost then"
	if err := wsl.Interop(); err != nil {
		return lost + "; to keep them in the Windows Credential Manager, turn WSL interop on ([interop] enabled=true in /etc/wsl.conf), then run ./install.sh"
	}
	return lost + "; to keep them in the Windows Credential Manager, run ./install.sh (it installs regcred's Windows build), or docker-credential-regcred configure --backend windows"
}

// providerFinder is a keyring served by a program of its own (the Secret
// Service), which it can name.
type providerFinder interface {
	Provider(context.Context) (keyring.Provider, error)
}

// itemsCheck is the name of doctor's last check.
const itemsCheck = "keyring items in order"

// checkItems reads every keyring item, repairing with fix. The note says
// what list cannot show.
func (r *runner) checkItems(fix bool) (string, error) {
	st, err := r.open()
	if err != nil {
		return "", err
	}
	rep, err := st.Check(r.ctx)
	if err != nil {
		return "", err
	}
	note := ""
	if rep.Cached {
		note = "this keyring cannot be enumerated: list shows the registries stored from this machine"
	}
	if rep.OK() {
		return note, nil
	}
	if !fix {
		return note, fmt.Errorf("%s; run `docker-credential-regcred doctor --fix`", strings.Join(rep.Problems(), "; "))
	}
	if _, err := st.Repair(r.ctx); err != nil {
		return note, fmt.Errorf("repair: %w", err)
	}
	fmt.Fprintf(r.stderr, "found, and repaired what --fix can: %s\n", strings.Join(rep.Problems(), "; "))
	if rep, err = st.Check(r.ctx); err != nil || rep.OK() {
		return note, err
	}
	return note, errors.New(strings.Join(rep.Problems(), "; "))
}
