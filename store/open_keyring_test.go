//go:build linux

package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/testenv"
	"github.com/regcred/regcred/testenv/launch"
)

// TestOpenRecordsOnlyASureChoice: the first command records the keyring it
// detects only when the answer is sure. A Secret Service that is there but
// locked (its unlock prompt unanswered) is used and not recorded — before,
// the kernel keyring was recorded for good, and on a desktop every
// credential then vanished at the next reboot.
func TestOpenRecordsOnlyASureChoice(t *testing.T) {
	tests := []struct {
		name     string
		start    func(t *testing.T) *launch.Session
		want     string // the keyring chosen
		recorded bool
	}{
		{"gnome-keyring", func(t *testing.T) *launch.Session { return testenv.StartSessionT(t, launch.Unlocked) }, "secret-service", true},
		{"no provider on the bus", func(t *testing.T) *launch.Session { return testenv.StartSessionT(t, launch.BusOnly) }, "kernel", true},
		{"headless gnome-keyring, no collection", func(t *testing.T) *launch.Session { return testenv.StartSessionT(t, launch.NoLogin) }, "kernel", true},
		{"KeePassXC locked", func(t *testing.T) *launch.Session {
			return testenv.StartProviderModeT(t, launch.KeePassXC, launch.Locked)
		}, "secret-service", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.start(t)
			t.Setenv("DBUS_SESSION_BUS_ADDRESS", s.Address)
			home := t.TempDir()
			env := map[string]string{
				"XDG_CONFIG_HOME": filepath.Join(home, "config"),
				"XDG_RUNTIME_DIR": home,
				"REGCRED_TIMEOUT": "1s", // the unanswered prompt's wait
			}
			o, err := store.Open(context.Background(), store.Env{Getenv: func(k string) string { return env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if o.Choice.Name != tt.want {
				t.Errorf("chose %q (%s); want %q", o.Choice.Name, o.Choice.Why, tt.want)
			}
			got, err := store.Recorded(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]string{true: tt.want, false: ""}[tt.recorded]; got != want {
				t.Errorf("recorded %q; want %q", got, want)
			}
			if !tt.recorded {
				if !strings.HasSuffix(o.Choice.Why, "not recorded until it does") {
					t.Errorf("why: %q", o.Choice.Why)
				}
				if _, err := os.Stat(filepath.Join(home, "config", "regcred", "config.json")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a config file was written: %v", err)
				}
				// The command then says what is wrong with the keyring it would use.
				_, err := o.Store.Get(context.Background(), "locked.example")
				if errors.Is(err, keyring.ErrNotFound) || err == nil {
					t.Errorf("a get on the locked keyring: %v; want why it could not be read", err)
				}
			}
		})
	}
}
