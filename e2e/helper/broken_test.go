package helper_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/testenv"
)

// TestBrokenKeyrings breaks the keyring for real in each way users meet and
// checks each gives its own one-line message, exit 1, within the time
// bound, with nothing stored and no secret written anywhere in plaintext.
func TestBrokenKeyrings(t *testing.T) {
	const secret = "SECRET-7f3a9c41"
	tests := []struct {
		name  string
		mode  launch.KeyringMode
		setup func(t *testing.T, e *env)
		want  string
	}{
		{
			name: "no session bus",
			mode: launch.BusOnly,
			setup: func(t *testing.T, e *env) {
				if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
					testenv.Unavailable(t, fmt.Errorf("this machine has a user session bus; cannot test its absence"))
				}
				delete(e.vars, "DBUS_SESSION_BUS_ADDRESS")
			},
			want: "no D-Bus session bus",
		},
		{name: "no Secret Service provider", mode: launch.BusOnly, want: "no Secret Service provider on the D-Bus session bus"},
		{name: "no login collection", mode: launch.NoLogin, want: "the keyring has no login or default collection"},
		{
			name: "locked collection",
			mode: launch.Unlocked,
			setup: func(t *testing.T, e *env) {
				if err := e.session.Lock(); err != nil {
					t.Fatalf("lock the login collection: %v", err)
				}
			},
			want: "the keyring is locked and could not be unlocked",
		},
		{
			name: "keyring not answering",
			mode: launch.Unlocked,
			setup: func(t *testing.T, e *env) {
				if err := e.session.Pause(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = e.session.Resume() })
			},
			want: "the keyring did not answer in time",
		},
		{
			name:  "keyring killed",
			mode:  launch.Unlocked,
			setup: func(t *testing.T, e *env) { e.session.KillKeyring() },
			want:  "no Secret Service provider on the D-Bus session bus",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mode)
			// A dbus-launch that records being run: godbus must never autolaunch a bus.
			fake := t.TempDir()
			marker := filepath.Join(fake, "autolaunched")
			script := "#!/bin/sh\ntouch " + marker + "\nexit 1\n"
			if err := launch.WriteProgram(filepath.Join(fake, "dbus-launch"), []byte(script), 0o700); err != nil {
				t.Fatal(err)
			}
			e.vars["PATH"] = fake + string(os.PathListSeparator) + e.vars["PATH"]
			if tt.mode == launch.Unlocked {
				e.mustStore("present.example", "alice", secret)
			}
			e.vars["REGCRED_TIMEOUT"] = "1s" // after the set-up store, which a loaded machine may slow
			if tt.setup != nil {
				tt.setup(t, e)
			}
			for _, call := range []struct{ verb, in string }{
				{"store", storeJSON("new.example", "bob", secret)},
				{"store", storeJSON("present.example", "alice", secret+"2")},
				{"get", "present.example"},
			} {
				if tt.mode != launch.Unlocked && call.in == "present.example" {
					continue // nothing is stored: get answers not found without the keyring
				}
				start := time.Now()
				r := e.run(call.in, call.verb)
				took := time.Since(start)
				if r.code != 1 || !strings.Contains(r.stdout, tt.want) || strings.Count(r.stdout, "\n") != 1 {
					t.Errorf("%s: exit %d stdout %q; want exit 1 and one line containing %q", call.verb, r.code, r.stdout, tt.want)
				}
				if r.stderr != "" || strings.Contains(r.stdout, secret) {
					t.Errorf("%s: stderr %q, stdout %q (secret leaked?)", call.verb, r.stderr, r.stdout)
				}
				if took > 5*time.Second {
					t.Errorf("%s took %v with REGCRED_TIMEOUT=1s", call.verb, took)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("a D-Bus session bus was autolaunched")
			}
			testenv.NoPlaintext(t, e.kr, secret)
		})
	}
}
