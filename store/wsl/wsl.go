// Package wsl keeps credentials, from inside WSL 2, in the Windows
// Credential Manager. WSL's Linux runs in a utility VM that Windows stops
// at `wsl --shutdown`, after an idle while and at every Windows restart,
// and the kernel keyring goes with it; the Credential Manager stays.
//
// It reaches the Credential Manager the way Git Credential Manager and
// Docker Desktop do from WSL: through interop, by running a Windows
// program — regcred's own Windows build, docker-credential-regcred.exe —
// as a credential helper (docker-credential-helpers' client package). So
// WSL and Windows share one set of items, written by the Windows build
// alone, with its item format, chunking, writers' lock and migration: a
// `docker login` on either side is seen on the other. Secrets cross the
// boundary on the Windows program's stdin and stdout only, never on its
// command line or in a file, and each run is bounded by the time-out.
//
// Interop needs two things WSL sets up for a login shell: the binfmt_misc
// handler that runs Windows programs (WSLInterop), and, on WSL 2, the
// socket of the session's interop server, named by WSL_INTEROP. cron,
// systemd units and sudo do not pass WSL_INTEROP on: Socket finds a live
// socket where WSL keeps them. Where interop is off nothing falls back to
// another keyring — that would split one user's credentials in two — the
// call fails in one line that says why and what to do.
package wsl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/helperexec"
	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/store/keyring"
)

// Name is the keyring's name in configure --backend's words.
const Name = "windows"

// Exe is the Windows build's file name.
const Exe = "docker-credential-regcred.exe"

// Where WSL keeps what this package reads (variables for tests of pure
// logic).
var (
	// binfmtDir holds the kernel's binfmt_misc handlers; WSL's is WSLInterop.
	binfmtDir = "/proc/sys/fs/binfmt_misc"
	// runDir holds WSL 2's interop sockets, one per session: PID_interop.
	runDir = "/run/WSL"
	// osRelease names the kernel: WSL's says microsoft.
	osRelease = "/proc/sys/kernel/osrelease"
)

// EnvInterop names the interop socket of the session (WSL 2).
const EnvInterop = "WSL_INTEROP"

// The states in which the Windows keyring cannot be reached, each with
// what to do.
var (
	// ErrInteropOff: no enabled binfmt_misc handler runs Windows programs.
	ErrInteropOff = errors.New("WSL interop is off, so Windows programs cannot run from here: turn it on ([interop] enabled=true in /etc/wsl.conf, then wsl --shutdown; or for now: sudo sh -c 'echo 1 > /proc/sys/fs/binfmt_misc/WSLInterop')")
	// ErrNoSocket: WSL_INTEROP is unset or dead, and no live socket is
	// where WSL keeps them.
	ErrNoSocket = errors.New("WSL's interop server is out of reach (WSL_INTEROP is unset or stale, and no live socket is in /run/WSL): run this from a WSL shell, or pass WSL_INTEROP on to cron jobs and services")
	// ErrNoWindowsBuild: the Windows build is not where it was recorded.
	ErrNoWindowsBuild = errors.New("regcred's Windows build is not installed")
	// ErrTimeout: the Windows build did not answer in time.
	ErrTimeout = errors.New("the Windows Credential Manager did not answer in time (through WSL interop); raise REGCRED_TIMEOUT")
)

// Unreachable reports whether err says the Windows keyring is out of reach
// (interop off or without its server, the Windows build missing), as
// opposed to an answer from it.
func Unreachable(err error) bool {
	return errors.Is(err, ErrInteropOff) || errors.Is(err, ErrNoSocket) || errors.Is(err, ErrNoWindowsBuild)
}

// IsWSL reports whether this Linux runs under WSL: WSL sets
// WSL_DISTRO_NAME for a session, and names its kernels "microsoft".
func IsWSL(getenv func(string) string) bool {
	if getenv("WSL_DISTRO_NAME") != "" || getenv(EnvInterop) != "" {
		return true
	}
	b, err := os.ReadFile(osRelease)
	return err == nil && strings.Contains(strings.ToLower(string(b)), "microsoft")
}

// Interop reports whether the kernel runs Windows programs: an enabled
// binfmt_misc handler for their "MZ" header (WSL's WSLInterop, or
// another), or ErrInteropOff.
func Interop() error {
	entries, err := os.ReadDir(binfmtDir)
	if err != nil {
		return fmt.Errorf("%w (%s cannot be read: %v)", ErrInteropOff, binfmtDir, err)
	}
	for _, e := range entries {
		if e.Name() == "register" || e.Name() == "status" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(binfmtDir, e.Name()))
		if err != nil {
			continue
		}
		lines := strings.Split(string(b), "\n")
		if lines[0] == "enabled" && slices.Contains(lines, "magic 4d5a") {
			return nil
		}
	}
	return ErrInteropOff
}

// Socket returns the interop socket a Windows program needs on WSL 2:
// WSL_INTEROP's when it answers, else the newest live one where WSL keeps
// them (cron, systemd and sudo do not pass WSL_INTEROP on). It returns ""
// with no error where WSL keeps none at all (WSL 1 needs none), and
// ErrNoSocket where none answers.
func Socket(getenv func(string) string) (string, error) {
	if s := getenv(EnvInterop); s != "" && answers(s) {
		return s, nil
	}
	entries, err := os.ReadDir(runDir)
	if errors.Is(err, fs.ErrNotExist) && getenv(EnvInterop) == "" {
		return "", nil
	}
	type sock struct {
		path string
		mod  time.Time
	}
	var found []sock
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), "_interop") {
			continue
		}
		if info, err := e.Info(); err == nil && info.Mode()&fs.ModeSocket != 0 {
			found = append(found, sock{filepath.Join(runDir, e.Name()), info.ModTime()})
		}
	}
	slices.SortFunc(found, func(a, b sock) int { return b.mod.Compare(a.mod) })
	for _, s := range found {
		if answers(s.path) {
			return s.path, nil
		}
	}
	return "", ErrNoSocket
}

// answers reports whether a server accepts connections on the socket.
func answers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Keyring is the Windows Credential Manager, reached through regcred's
// Windows build at Path.
type Keyring struct {
	// Path is the Windows build, as a Linux path (under /mnt/c, or on PATH).
	Path string
	// Timeout bounds each run of it.
	Timeout time.Duration
	// Getenv reads this process's environment.
	Getenv func(string) string
}

// Name names the keyring in the user's words.
func (k *Keyring) Name() string { return "Windows Credential Manager (through WSL interop)" }

// Probe checks each layer in turn: interop, its server, the Windows build,
// the Credential Manager answering (a list).
func (k *Keyring) Probe(ctx context.Context) error {
	_, err := k.List(ctx)
	return err
}

// Get returns the username and secret stored for server, or
// keyring.ErrNotFound.
func (k *Keyring) Get(ctx context.Context, server string) (username, secret string, err error) {
	var c *credentials.Credentials
	err = k.run(ctx, func(p client.ProgramFunc) (err error) {
		c, err = client.Get(p, server)
		return err
	})
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}

// Put stores a credential.
func (k *Keyring) Put(ctx context.Context, server, username, secret string) error {
	return k.run(ctx, func(p client.ProgramFunc) error {
		return client.Store(p, &credentials.Credentials{ServerURL: server, Username: username, Secret: secret})
	})
}

// Erase erases server's credential; an unknown one is not an error.
func (k *Keyring) Erase(ctx context.Context, server string) error {
	return k.run(ctx, func(p client.ProgramFunc) error { return client.Erase(p, server) })
}

// List returns server → username for every stored credential.
func (k *Keyring) List(ctx context.Context) (map[string]string, error) {
	var l map[string]string
	err := k.run(ctx, func(p client.ProgramFunc) (err error) {
		l, err = client.List(p)
		return err
	})
	if l == nil && err == nil {
		l = map[string]string{}
	}
	return l, err
}

// run runs one call of the Windows build: after checking interop is on
// and finding its server, and with every failure worded in one line.
func (k *Keyring) run(ctx context.Context, call func(client.ProgramFunc) error) error {
	if err := Interop(); err != nil {
		return err
	}
	sock, err := Socket(k.Getenv)
	if err != nil {
		return err
	}
	env := os.Environ()
	if sock != "" {
		env = append(slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, EnvInterop+"=") }), EnvInterop+"="+sock)
	}
	var rec helperexec.Run
	err = call(helperexec.Program(ctx, helperexec.Options{Path: k.Path, Env: env, Timeout: k.Timeout, Record: &rec}))
	switch {
	case err == nil:
		return nil
	case credentials.IsErrCredentialsNotFound(err):
		return keyring.ErrNotFound
	case errors.Is(rec.Err, fs.ErrNotExist) || errors.Is(rec.Err, exec.ErrNotFound):
		return fmt.Errorf("%w at %s: run ./install.sh in WSL to install it, or configure --backend kernel", ErrNoWindowsBuild, k.Path)
	case errors.Is(rec.Err, syscall.ENOEXEC):
		return ErrInteropOff
	case errors.Is(rec.Err, context.DeadlineExceeded):
		return fmt.Errorf("%w (waited %v)", ErrTimeout, k.Timeout)
	case strings.Contains(rec.Stderr, "UtilConnectToInteropServer") || strings.Contains(err.Error(), "UtilConnectToInteropServer"):
		return ErrNoSocket
	}
	return fmt.Errorf("the Windows build of regcred (%s): %s", k.Path, oneline.Error(err))
}

// Find finds the Windows build: docker-credential-regcred.exe on PATH
// (WSL appends the Windows PATH), else where install.sh puts it: in
// Programs\regcred under the Windows user's %LOCALAPPDATA% (as per-user
// programs are installed), which it asks Windows for through interop.
func Find(ctx context.Context, getenv func(string) string, timeout time.Duration) (string, error) {
	if p, err := exec.LookPath(Exe); err == nil {
		return p, nil
	}
	if err := Interop(); err != nil {
		return "", err
	}
	dir, err := LocalAppData(ctx, getenv, timeout)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "Programs", "regcred", Exe)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: not on PATH, nor at %s: run ./install.sh in WSL to install it", ErrNoWindowsBuild, p)
	}
	return p, nil
}

// LocalAppData is the Windows user's %LOCALAPPDATA% as a Linux path,
// asked of Windows' cmd.exe through interop and translated by wslpath.
func LocalAppData(ctx context.Context, getenv func(string) string, timeout time.Duration) (string, error) {
	sock, err := Socket(getenv)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		if sock != "" {
			cmd.Env = append(os.Environ(), EnvInterop+"="+sock)
		}
		cmd.WaitDelay = time.Second
		out, err := cmd.Output()
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) && len(exit.Stderr) > 0 {
				err = fmt.Errorf("%w: %s", err, oneline.Error(errors.New(string(exit.Stderr))))
			}
			return "", fmt.Errorf("ask Windows where %%LOCALAPPDATA%% is (%s): %w", name, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	win, err := run("cmd.exe", "/d", "/c", "echo %LOCALAPPDATA%")
	if err != nil {
		return "", err
	}
	if win == "" || strings.Contains(win, "%") {
		return "", fmt.Errorf("ask Windows where %%LOCALAPPDATA%% is: cmd.exe answered %q", win)
	}
	return run("wslpath", "-u", win)
}
