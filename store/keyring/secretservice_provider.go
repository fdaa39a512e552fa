//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// Provider finds the program that owns the Secret Service's bus name and
// its version. Only the programs named here are run (with --version), and
// only from the directory the running provider was started from.
func (k *SecretService) Provider(ctx context.Context) (Provider, error) {
	var p Provider
	err := k.call(ctx, func(svc *ss.SecretService) error {
		var err error
		p, err = providerOn(svc.Conn)
		p.readVersion()
		return err
	})
	return p, err
}

// providerOn asks the bus which process owns the Secret Service name.
func providerOn(conn *dbus.Conn) (Provider, error) {
	var p Provider
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, ssName).Store(&p.PID); err != nil {
		return p, err
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		// Not ours to look into: another user's, another PID namespace's —
		// or a program that made itself undumpable, as KeePassXC's release
		// builds do (prctl PR_SET_DUMPABLE 0), so that even its own user
		// cannot read its exe link. Its command line stays readable.
		exe = commandPath(p.PID)
		if exe == "" {
			return p, nil // unknown program
		}
	}
	p.exe = strings.TrimSuffix(exe, " (deleted)")
	p.Program = filepath.Base(p.exe)
	return p, nil
}

// commandPath is the program a process was started as, from its command
// line (readable by every user): its first word, looked up on PATH unless
// it is a path already; "" when there is none.
func commandPath(pid uint32) string {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	if argv0 == "" || filepath.IsAbs(argv0) {
		return argv0
	}
	if path, err := exec.LookPath(argv0); err == nil {
		return path
	}
	return argv0
}

// kwalletBackend is the versioned file name of the library that holds
// KWallet's wallet code, as the process maps it.
var kwalletBackend = regexp.MustCompile(`libkwalletbackend\d*\.so\.(\d+\.\d+\.\d+)`)

// readVersion reads the provider's version. KWallet's daemon is a
// unique instance (a second one run for --version exits silently), so the
// version of the wallet library it has loaded answers; KeePassXC's GUI
// needs a display even for --version, so its command-line tool beside it,
// from the same build, answers.
func (p *Provider) readVersion() {
	var cmd []string
	switch {
	case p.Program == "gnome-keyring-daemon":
		cmd = []string{p.exe, "--version"}
	case p.keepassxc():
		cmd = []string{filepath.Join(filepath.Dir(p.exe), "keepassxc-cli"), "--version"}
	case strings.HasPrefix(p.Program, "kwalletd"):
		maps, _ := os.ReadFile(fmt.Sprintf("/proc/%d/maps", p.PID))
		if m := kwalletBackend.FindSubmatch(maps); m != nil {
			p.Version = string(m[1])
		}
		return
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Env = append(os.Environ(), "QT_QPA_PLATFORM=offscreen")
	if out, err := c.Output(); err == nil {
		p.Version = versionRE.FindString(string(out))
	}
}

// withProviderHint gives a locked, missing or silent collection's error
// the fix for the provider that serves it, where that is not
// gnome-keyring (whose fix the sentinel errors carry). It asks the bus,
// not the provider, which may be the one not answering — and the bus may
// not answer either (a wedged dbus-daemon, on which an abandoned connection
// attempt holds godbus's session-bus lock for good): the question is
// bounded by budget, and unanswered leaves err as it is.
func withProviderHint(ctx context.Context, budget time.Duration, err error) error {
	if !errors.Is(err, ErrNoCollection) && !errors.Is(err, ErrLocked) && !errors.Is(err, ErrKeyringTimeout) {
		return err
	}
	var p Provider
	if Bounded(ctx, budget, func() error {
		conn, err := dbus.SessionBus()
		if err != nil {
			return err
		}
		p, err = providerOn(conn)
		return err
	}) != nil {
		return err
	}
	if h := p.hint(err); h != "" {
		return hinted{err, h}
	}
	return err
}

// hintBudget bounds asking the bus for the provider's hint: a fifth of the
// call's time-out, at most a second — so a call on a wedged bus ends
// within its time-out and a fifth.
func hintBudget(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return min(timeout/5, time.Second)
}

// hinted is an error with the fix for the provider that gave it.
type hinted struct {
	err error
	msg string
}

func (h hinted) Error() string { return h.msg }
func (h hinted) Unwrap() error { return h.err }
