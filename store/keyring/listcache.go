package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/regcred/regcred/internal/atomicfile"
)

// ListCache gives a keyring that cannot enumerate its items (the macOS
// Keychain, through go-keyring) a List: the labels of the credentials
// stored through it, kept in a file it updates after each write. Only list
// reads it; get, store and erase ask the keyring. So list there shows what
// this machine stored (another machine's writes to a shared keychain do
// not appear), and a lost file only empties list until the next logins.
type ListCache struct {
	Keyring
	// Path is the cache file; it holds addresses and usernames, no secret.
	Path string
}

// listCacheFile is the file's content.
type listCacheFile struct {
	Version    int              `json:"version"`
	Registries map[string]Label `json:"registries"`
}

// List returns what the cache holds.
func (c *ListCache) List(context.Context) (map[string]Label, error) {
	f, err := c.load()
	if err != nil {
		return nil, err
	}
	return f.Registries, nil
}

// Set writes the item, then records its label.
func (c *ListCache) Set(ctx context.Context, account string, label Label, data string) error {
	if err := c.Keyring.Set(ctx, account, label, data); err != nil {
		return err
	}
	if label == (Label{}) {
		// A chunk, never in the cache; or a credential's item written
		// unlabelled, as an erase marks it first: list then reads it.
		if f, err := c.load(); err != nil || !hasKey(f.Registries, account) {
			return nil
		}
	}
	return c.update(func(r map[string]Label) { r[account] = label })
}

// Delete deletes the item, then forgets its label.
func (c *ListCache) Delete(ctx context.Context, account string) error {
	err := c.Keyring.Delete(ctx, account)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if uerr := c.update(func(r map[string]Label) { delete(r, account) }); uerr != nil {
		return uerr
	}
	return err
}

// Forget drops account from the cache alone (doctor --fix, for an item
// that is gone).
func (c *ListCache) Forget(account string) error {
	return c.update(func(r map[string]Label) { delete(r, account) })
}

// load reads the cache; a missing file is an empty cache.
func (c *ListCache) load() (listCacheFile, error) {
	f := listCacheFile{Version: 1, Registries: map[string]Label{}}
	data, err := os.ReadFile(c.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err != nil || f.Registries == nil {
		return listCacheFile{}, fmt.Errorf("list cache %s: %v (remove it; list then shows the registries stored from now on)", c.Path, err)
	}
	return f, nil
}

// update changes the cache file; the writers' lock serialises updates.
func (c *ListCache) update(change func(map[string]Label)) error {
	f, err := c.load()
	if err != nil {
		f = listCacheFile{Version: 1, Registries: map[string]Label{}} // replace a broken one
	}
	change(f.Registries)
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o700); err != nil {
		return fmt.Errorf("list cache: %w", err)
	}
	if err := atomicfile.WriteFile(c.Path, data, 0o600); err != nil {
		return fmt.Errorf("list cache: %w", err)
	}
	return nil
}

func hasKey(m map[string]Label, k string) bool {
	_, ok := m[k]
	return ok
}
