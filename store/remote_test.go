package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/store/wsl"
)

// mapRemote is a Remote over a map, counting its calls.
type mapRemote struct {
	creds map[string][2]string
	calls int
}

func (m *mapRemote) Get(_ context.Context, server string) (string, string, error) {
	m.calls++
	c, ok := m.creds[server]
	if !ok {
		return "", "", ErrNotFound
	}
	return c[0], c[1], nil
}

func (m *mapRemote) Put(_ context.Context, server, user, secret string) error {
	m.calls++
	m.creds[server] = [2]string{user, secret}
	return nil
}

func (m *mapRemote) Erase(_ context.Context, server string) error {
	m.calls++
	delete(m.creds, server)
	return nil
}

func (m *mapRemote) List(context.Context) (map[string]string, error) {
	m.calls++
	out := map[string]string{}
	for s, c := range m.creds {
		out[s] = c[0]
	}
	return out, nil
}

// TestStoreOnARemote: a store on a Remote (the Windows keyring of WSL)
// checks input as any store does — bad input reaches the remote never —
// and passes whole credentials through.
func TestStoreOnARemote(t *testing.T) {
	ctx := context.Background()
	r := &mapRemote{creds: map[string][2]string{}}
	s, err := New(Config{Remote: r, LockPath: filepath.Join(t.TempDir(), "lock")})
	if err != nil {
		t.Fatal(err)
	}
	refused := []struct {
		name string
		call func() error
	}{
		{"store to an address with a password", func() error {
			return s.Put(ctx, Credential{ServerURL: "https://u:pw@ghcr.io", Username: "u", Secret: "s"})
		}},
		{"store without a username", func() error { return s.Put(ctx, Credential{ServerURL: "ghcr.io", Secret: "s"}) }},
		{"erase a bad address", func() error { return s.Erase(ctx, "bad host") }},
		{"get a bad address", func() error {
			_, err := s.Get(ctx, "bad host")
			if errors.Is(err, ErrNotFound) {
				return errors.New("not found, as it should be")
			}
			return nil
		}},
	}
	for _, tt := range refused {
		if err := tt.call(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if r.calls != 0 {
		t.Fatalf("bad input reached the remote %d times", r.calls)
	}
	if err := s.Put(ctx, Credential{ServerURL: "ghcr.io", Username: "alice", Secret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Get(ctx, "ghcr.io"); err != nil || c != (Credential{ServerURL: "ghcr.io", Username: "alice", Secret: "s3cret"}) {
		t.Errorf("Get = %+v, %v", c, err)
	}
	if l, err := s.List(ctx); err != nil || len(l) != 1 || l["ghcr.io"] != "alice" {
		t.Errorf("List = %v, %v", l, err)
	}
	if rep, err := s.Check(ctx); err != nil || !rep.OK() {
		t.Errorf("Check = %+v, %v", rep, err)
	}
	if _, err := s.Repair(ctx); !errors.Is(err, errRemoteRepair) {
		t.Errorf("Repair = %v; want the Windows side's doctor named", err)
	}
	if err := s.Erase(ctx, "ghcr.io"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "ghcr.io"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Erase = %v", err)
	}
}

// TestWindowsKeyringOnlyUnderWSL: the windows keyring is WSL's; elsewhere
// naming it is one line that says so, and runs nothing.
func TestWindowsKeyringOnlyUnderWSL(t *testing.T) {
	if wsl.IsWSL(os.Getenv) {
		t.Skip("this is WSL")
	}
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"XDG_CONFIG_HOME": dir, "HOME": dir}[k] }
	_, err := OpenNamed(context.Background(), Env{Getenv: getenv}, wsl.Name)
	if err == nil || !strings.Contains(err.Error(), "this Linux is not WSL: choose secret-service or kernel") || strings.Contains(err.Error(), "\n") {
		t.Errorf("OpenNamed(windows) off WSL = %v", err)
	}
}
