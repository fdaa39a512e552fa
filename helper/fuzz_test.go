package helper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"sync"
	"testing"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/store"
)

// mapKeyring is an in-memory keyring: enough for the protocol's logic.
type mapKeyring struct {
	mu    sync.Mutex
	items map[string]string
	tags  map[string]keyring.Label
}

func (k *mapKeyring) Get(_ context.Context, a string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[a]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (k *mapKeyring) Set(_ context.Context, a string, l keyring.Label, v string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[a], k.tags[a] = v, l
	return nil
}

func (k *mapKeyring) Delete(_ context.Context, a string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.items[a]; !ok {
		return store.ErrNotFound
	}
	delete(k.items, a)
	delete(k.tags, a)
	return nil
}

func (k *mapKeyring) List(context.Context) (map[string]keyring.Label, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.tags), nil
}

// FuzzStoreInput: stdin decoding never panics; whatever store input the
// checks accept decodes as credentials, and either is refused by the store
// with an error saying why (an address that names no registry, no
// username) or is stored and read back byte for byte, under every
// spelling of its address, with list showing it as stored.
func FuzzStoreInput(f *testing.F) {
	for _, s := range []string{
		`{"ServerURL":"r.example","Username":"u","Secret":"s"}`,
		`{"ServerURL":"r.example","Username":"u","Secret":null}`,
		`{"serverurl":"HTTPS://R.example:5000/","USERNAME":"ü","secret":"\u0000x"}`,
		`{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"{TITLE}"}`,
		`[1,2]`, `{`, "", "\x00", "\xff", `{"ServerURL":"a"} {}`,
	} {
		f.Add([]byte(s))
	}
	st, err := store.New(store.Config{
		Keyring:  &mapKeyring{items: map[string]string{}, tags: map[string]keyring.Label{}},
		LockPath: filepath.Join(f.TempDir(), "lock"),
	})
	if err != nil {
		f.Fatal(err)
	}
	h := New(context.Background(), st)
	f.Fuzz(func(t *testing.T, in []byte) {
		data, err := readInput(bytes.NewReader(in))
		if err != nil || checkStoreInput(data) != nil {
			return
		}
		var c credentials.Credentials
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
			t.Fatalf("accepted input does not decode: %q: %v", in, err)
		}
		err = h.Add(&c)
		switch {
		case address.Validate(c.ServerURL) != nil:
			if !errors.Is(err, address.ErrInvalid) {
				t.Fatalf("store of %q = %v, want it refused as an invalid address", c.ServerURL, err)
			}
			return
		case c.Username == "":
			if err == nil || err.Error() != "no credentials username" {
				t.Fatalf("store without a username = %v", err)
			}
			return
		case err != nil:
			t.Fatalf("store of %q: %v", in, err)
		}
		defer func() { _ = h.Delete(c.ServerURL) }()
		for _, q := range []string{c.ServerURL, "https://" + c.ServerURL} {
			if address.Validate(q) != nil {
				continue
			}
			user, secret, err := h.Get(q)
			if err != nil || user != c.Username || secret != c.Secret {
				t.Fatalf("get %q after storing %q = %q/%q, %v", q, in, user, secret, err)
			}
		}
		if l, err := h.List(); err != nil || l[c.ServerURL] != c.Username {
			t.Fatalf("list after storing %q = %v, %v", in, l, err)
		}
	})
}
