//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"context"
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
