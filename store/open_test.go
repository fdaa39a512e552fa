//go:build linux

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/keyring"
)

// TestUnknownRecordedKeyring: a config file that names no keyring, or does
// not parse, fails every command that opens the store in one line naming
// the file and the fix; Recorded, which doctor and configure read, says
// the same.
func TestUnknownRecordedKeyring(t *testing.T) {
	for _, tt := range []struct{ name, content string }{
		{"unknown name", `{"backend": "gnome"}`},
		{"no name", `{"why": "configure"}`},
		{"not JSON", `backend=kernel`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "regcred", "config.json")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"XDG_CONFIG_HOME": dir, "HOME": dir}
			getenv := func(k string) string { return env[k] }
			want := path + ` names no keyring regcred knows (want {"backend": "secret-service" or "kernel"}): run ` + "`docker-credential-regcred configure --backend NAME`"
			if _, err := store.Open(context.Background(), store.Env{Getenv: getenv}); err == nil || err.Error() != want {
				t.Errorf("Open: %v\nwant %s", err, want)
			}
			if _, err := store.Recorded(getenv); err == nil || err.Error() != want {
				t.Errorf("Recorded: %v\nwant %s", err, want)
			}
		})
	}
}

// TestNewRefusesUnknownKeyrings: keyring.New makes only the keyrings
// Names offers.
func TestNewRefusesUnknownKeyrings(t *testing.T) {
	for _, name := range keyring.Names() {
		if _, err := keyring.New(name, keyring.Options{}); err != nil {
			t.Errorf("New(%q): %v", name, err)
		}
	}
	const want = `no keyring "gnome" here: choose secret-service or kernel`
	if _, err := keyring.New("gnome", keyring.Options{}); err == nil || err.Error() != want {
		t.Errorf("New(gnome): %v; want %s", err, want)
	}
}
