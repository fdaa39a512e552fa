package wsl

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeWSL points the package at a binfmt_misc directory, a socket
// directory and an osrelease file of the test's own.
func fakeWSL(t *testing.T) (binfmt, run string) {
	t.Helper()
	dir := t.TempDir()
	binfmt, run = filepath.Join(dir, "binfmt"), filepath.Join(dir, "run")
	for _, d := range []string{binfmt, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	release := filepath.Join(dir, "osrelease")
	if err := os.WriteFile(release, []byte("6.6.87.2-microsoft-standard-WSL2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := [3]string{binfmtDir, runDir, osRelease}
	binfmtDir, runDir, osRelease = binfmt, run, release
	t.Cleanup(func() { binfmtDir, runDir, osRelease = old[0], old[1], old[2] })
	return binfmt, run
}

func TestInterop(t *testing.T) {
	const wslInterop = "enabled\ninterpreter /init\nflags: PF\noffset 0\nmagic 4d5a\n"
	tests := []struct {
		name    string
		entries map[string]string
		want    error
	}{
		{"WSL's handler", map[string]string{"register": "", "status": "enabled\n", "WSLInterop": wslInterop}, nil},
		{"another handler of Windows programs", map[string]string{"wine": "enabled\ninterpreter /usr/bin/wine\nflags: \noffset 0\nmagic 4d5a\n"}, nil},
		{"WSL's handler disabled", map[string]string{"WSLInterop": strings.Replace(wslInterop, "enabled", "disabled", 1)}, ErrInteropOff},
		{"no handler", map[string]string{"register": "", "status": "enabled\n"}, ErrInteropOff},
		{"a handler of something else", map[string]string{"qemu-arm": "enabled\ninterpreter /usr/bin/qemu-arm\nflags: F\noffset 0\nmagic 7f454c46\n"}, ErrInteropOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			binfmt, _ := fakeWSL(t)
			for name, content := range tt.entries {
				if err := os.WriteFile(filepath.Join(binfmt, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := Interop(); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Interop() = %v, want %v", err, tt.want)
			}
		})
	}
}

// listen serves a unix socket at path until the test ends.
func listen(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// dead leaves a socket file at path that nobody serves, as a session
// that ended leaves its interop socket.
func dead(t *testing.T, path string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
}

func TestSocket(t *testing.T) {
	t.Run("WSL_INTEROP's when it answers", func(t *testing.T) {
		_, run := fakeWSL(t)
		own := filepath.Join(run, "12_interop")
		listen(t, own)
		listen(t, filepath.Join(run, "99_interop"))
		got, err := Socket(env(map[string]string{EnvInterop: own}))
		if err != nil || got != own {
			t.Errorf("Socket = %q, %v; want %q", got, err, own)
		}
	})
	t.Run("the newest live one without WSL_INTEROP (cron, systemd, sudo)", func(t *testing.T) {
		_, run := fakeWSL(t)
		old, newer, newest := filepath.Join(run, "5_interop"), filepath.Join(run, "7_interop"), filepath.Join(run, "9_interop")
		listen(t, old)
		listen(t, newer)
		dead(t, newest)
		now := time.Now()
		for p, age := range map[string]time.Duration{old: time.Hour, newer: time.Minute, newest: 0} {
			if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := Socket(env(nil))
		if err != nil || got != newer {
			t.Errorf("Socket = %q, %v; want the newest that answers, %q", got, err, newer)
		}
	})
	t.Run("a stale WSL_INTEROP, another session's socket live", func(t *testing.T) {
		_, run := fakeWSL(t)
		stale, live := filepath.Join(run, "3_interop"), filepath.Join(run, "4_interop")
		dead(t, stale)
		listen(t, live)
		if got, err := Socket(env(map[string]string{EnvInterop: stale})); err != nil || got != live {
			t.Errorf("Socket = %q, %v; want %q", got, err, live)
		}
	})
	t.Run("none answers", func(t *testing.T) {
		_, run := fakeWSL(t)
		dead(t, filepath.Join(run, "3_interop"))
		if got, err := Socket(env(nil)); !errors.Is(err, ErrNoSocket) {
			t.Errorf("Socket = %q, %v; want ErrNoSocket", got, err)
		}
	})
	t.Run("WSL keeps none (WSL 1)", func(t *testing.T) {
		_, run := fakeWSL(t)
		os.Remove(run)
		if got, err := Socket(env(nil)); got != "" || err != nil {
			t.Errorf("Socket = %q, %v; want none needed", got, err)
		}
	})
}

func TestIsWSL(t *testing.T) {
	fakeWSL(t)
	if !IsWSL(env(nil)) {
		t.Error("a microsoft kernel is not WSL")
	}
	if err := os.WriteFile(osRelease, []byte("6.1.0-28-amd64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if IsWSL(env(nil)) {
		t.Error("Debian's kernel is WSL")
	}
	if !IsWSL(env(map[string]string{"WSL_DISTRO_NAME": "Debian"})) {
		t.Error("WSL_DISTRO_NAME set is not WSL")
	}
}

// TestUnreachableKeyringFailsInOneLine: with interop off, every call fails
// with ErrInteropOff before any program runs, in one line.
func TestUnreachableKeyringFailsInOneLine(t *testing.T) {
	fakeWSL(t)
	k := &Keyring{Path: "/nonexistent/" + Exe, Timeout: time.Second, Getenv: env(nil)}
	_, err := k.List(context.Background())
	if !errors.Is(err, ErrInteropOff) || !Unreachable(err) || strings.Contains(err.Error(), "\n") {
		t.Errorf("List with interop off = %v", err)
	}
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
