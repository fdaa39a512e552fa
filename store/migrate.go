package store

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

// legacyPending reports whether the index file of versions before 3 is
// there to read: every such version kept one, so its items may still need
// migrating. An unreadable one (a root-owned file from an old sudo run)
// counts as absent: it cannot be used, and must not hold up every store,
// erase and not-found get (doctor names it).
func (s *Store) legacyPending() bool {
	if s.cfg.LegacyIndex == "" {
		return false
	}
	_, err := os.ReadFile(s.cfg.LegacyIndex)
	return err == nil
}

// legacyUnreadable reports whether the index file is there but cannot be
// read.
func (s *Store) legacyUnreadable() bool {
	if s.cfg.LegacyIndex == "" {
		return false
	}
	_, serr := os.Stat(s.cfg.LegacyIndex)
	_, rerr := os.ReadFile(s.cfg.LegacyIndex)
	return serr == nil && rerr != nil
}

// migrate rewrites the items versions 1 and 2 wrote in this version's form,
// then removes their index: every item the keyring lists without a label of
// this version (or, where it cannot list, every item the old index names).
// Each is rewritten under its canonical name by put, like any store, before
// the old item is deleted: get finds one or the other throughout.
func (w *writer) migrate() error {
	todo, err := w.legacyAccounts()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, account := range slices.Sorted(maps.Keys(todo)) {
		if err := w.migrateOne(account, todo[account]); err != nil {
			return fmt.Errorf("migrate %s: %w", account, err)
		}
	}
	if err := w.kr.Delete(w.ctx, keyring.LegacyStamp); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("migrate: %w", err)
	}
	if p := w.s.cfg.LegacyIndex; p != "" {
		for _, f := range []string{p, filepath.Join(filepath.Dir(p), "index.lock")} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("migrate: %w", err)
			}
		}
	}
	return nil
}

// legacyAccounts returns the items to migrate, each with whether the
// keyring shows it without a label of this version (rather than only
// being named by the old index).
func (w *writer) legacyAccounts() (map[string]bool, error) {
	todo := map[string]bool{}
	labels, err := w.kr.List(w.ctx)
	switch {
	case err == nil:
		for account, l := range labels {
			if _, chunk := parseChunk(account); !chunk && address.Validate(account) == nil && (l == (keyring.Label{}) || keyFor(l.Server) != account) {
				todo[account] = true
			}
		}
	case !errors.Is(err, errors.ErrUnsupported):
		return nil, err
	}
	if p := w.s.cfg.LegacyIndex; p != "" {
		data, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, name := range legacyIndexNames(string(data)) {
			todo[name] = todo[name] || false
		}
	}
	return todo, nil
}

// legacyIndexNames returns the accounts an old index file names: the first
// field of each line after its header ("regcred-index 1" named items by the
// address as typed, "regcred-index 2 STAMP" by the canonical address).
func legacyIndexNames(data string) []string {
	header, rest, _ := strings.Cut(data, "\n")
	if !strings.HasPrefix(header, "regcred-index ") {
		return nil
	}
	var out []string
	for line := range strings.Lines(rest) {
		if name, _, _ := strings.Cut(strings.TrimSpace(line), " "); address.Validate(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

// migrateOne rewrites the item under account, if an older version wrote
// it, and deletes it if it was named otherwise. On a case-insensitive
// keyring the old and the new name may be one item, just rewritten: the
// old item is deleted only if it still holds what was read from it.
func (w *writer) migrateOne(account string, relabel bool) error {
	data, err := w.kr.Get(w.ctx, account)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rec, err := w.s.assemble(w.ctx, account, data)
	if corrupt(err) || errors.Is(err, errErasing) {
		return nil // cannot be read, or being erased: doctor reports it
	}
	if err != nil {
		return err // could not be read now: the index stays for next time
	}
	key := keyFor(rec.A)
	if it, _ := decodeItem(data); key == account && it.version() == itemVersion && !relabel {
		return nil // already in this version's form
	}
	newer, err := w.kr.Get(w.ctx, key)
	if key == account || errors.Is(err, ErrNotFound) || err == nil && newer == data {
		if err := w.rewrite(key, rec); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} // else key holds a credential written since: it wins
	if key == account {
		return nil
	}
	now, err := w.kr.Get(w.ctx, account)
	if err != nil || now != data {
		return nil // gone, or the item just rewritten
	}
	if err := w.kr.Delete(w.ctx, account); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if it, _ := decodeItem(data); it.head != nil {
		return w.deleteNames(it.head.chunkNames(account))
	}
	return nil
}

// rewrite stores rec under key in this version's form.
func (w *writer) rewrite(key string, rec *record) error {
	data, err := encodeRecord(rec.A, rec.U, rec.S)
	if err != nil {
		return err
	}
	var parts [][]byte
	if len(data) > w.s.cfg.ItemLimit {
		parts = splitChunks(data, w.s.cfg.ItemLimit)
	}
	return w.put(key, keyring.Label{Server: rec.A, User: rec.U}, data, parts)
}
