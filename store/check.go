package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Report is what Check found out of step between the keyring and the index.
type Report struct {
	// Backend names the keyring checked, in its own words.
	Backend string
	// Enumerated says whether the keyring's items could be listed; where
	// they cannot (macOS), only the registries the index names were read.
	Enumerated bool
	// IndexError says why the index file could not be decoded.
	IndexError error
	// Missing lists registries the index shows whose item is gone.
	Missing []string
	// Unlisted lists registries in the keyring the index does not show.
	Unlisted []string
	// Differ lists registries whose address or username the index has wrong.
	Differ []string
	// Unfinished lists registries with chunk sets an interrupted store left.
	Unfinished []string
	// Orphans counts chunk items no head points at and no store left unfinished.
	Orphans int
	// Legacy lists items in the format before version 2, to be migrated.
	Legacy []string
	// Corrupt lists credential items that do not decode: erase them
	// (docker logout) and log in again.
	Corrupt []string
}

// OK reports whether nothing is out of step.
func (r Report) OK() bool { return len(r.Problems()) == 0 }

// Problems describes each problem in one line.
func (r Report) Problems() []string {
	var out []string
	add := func(what string, servers []string) {
		if len(servers) > 0 {
			out = append(out, fmt.Sprintf("%d %s: %s", len(servers), what, strings.Join(servers, ", ")))
		}
	}
	if r.IndexError != nil {
		out = append(out, fmt.Sprintf("the index is unreadable (%v)", r.IndexError))
	}
	add("registries in the index have no keyring item", r.Missing)
	add("keyring credentials are missing from the index", r.Unlisted)
	add("index entries disagree with the keyring", r.Differ)
	add("registries have leftover chunks from an interrupted store", r.Unfinished)
	if r.Orphans > 0 {
		out = append(out, fmt.Sprintf("%d chunk items belong to no credential", r.Orphans))
	}
	add("items are in the old format", r.Legacy)
	add("items do not decode (erase them with docker logout and log in again)", r.Corrupt)
	return out
}

// Check compares the index with the keyring, and the keyring with itself.
// It changes nothing.
func (s *Store) Check(ctx context.Context) (Report, error) {
	idx, err := loadIndex(s.IndexPath(), true)
	if err != nil {
		return Report{}, err
	}
	v, err := s.scan(ctx, idx)
	if err != nil {
		return Report{}, err
	}
	stamp, err := s.cfg.Keyring.Stamp(ctx)
	if err != nil {
		return Report{}, err
	}
	r := Report{Backend: BackendName, Enumerated: v.enumerated, IndexError: idx.err, Legacy: v.legacy, Corrupt: v.corrupt}
	for _, key := range slices.Sorted(maps.Keys(idx.Registries)) {
		if len(idx.Registries[key].Chunks) > 0 {
			r.Unfinished = append(r.Unfinished, key)
		}
	}
	if idx.current(stamp) {
		// An index that is not current is simply rebuilt by the next list;
		// one that claims to be current must agree with the keyring.
		r.Missing, r.Unlisted, r.Differ = compare(idx, v)
	}
	r.Orphans = len(orphans(v, idx))
	return r, nil
}

// compare lists the registries the index shows that the keyring lacks,
// those the keyring holds that the index does not show, and those it shows
// with another address or username.
func compare(idx *index, v view) (missing, unlisted, differ []string) {
	for _, key := range slices.Sorted(maps.Keys(idx.Registries)) {
		e := idx.Registries[key]
		c, inKeyring := v.creds[key]
		switch {
		case e.Server != "" && !inKeyring && !slices.Contains(v.legacy, key) && !slices.Contains(v.corrupt, key):
			missing = append(missing, e.Server)
		case inKeyring && !e.same(c):
			differ = append(differ, c.Server)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(v.creds)) {
		if e := idx.Registries[key]; e == nil || e.Server == "" {
			unlisted = append(unlisted, v.creds[key].Server)
		}
	}
	return missing, unlisted, differ
}

// orphans lists the chunk items that no head points at and no index entry
// records as unfinished.
func orphans(v view, idx *index) []string {
	recorded := map[string]bool{}
	for _, e := range idx.Registries {
		for g := range e.Chunks {
			recorded[g] = true
		}
	}
	var out []string
	for _, account := range v.chunks {
		if g, _ := chunkGen(account); v.live[g] == 0 && !recorded[g] {
			out = append(out, account)
		}
	}
	return out
}

// Repair makes the keyring and the index agree again, holding the writers'
// lock: it migrates old-format items, deletes chunk sets no head points at
// (never one a head points at, so no recoverable credential is lost), and
// rebuilds the index from the keyring. It returns what it found before.
// Corrupt items are left for the user to erase: they cannot be recovered,
// and deleting a secret is the user's call.
func (s *Store) Repair(ctx context.Context) (Report, error) {
	found, err := s.Check(ctx)
	if err != nil {
		return Report{}, err
	}
	err = s.write(ctx, func(w *writer) error {
		v, err := s.scan(ctx, w.idx)
		if err != nil {
			return err
		}
		if len(v.legacy) > 0 {
			if err := w.migrate(v.legacy); err != nil {
				return err
			}
			if v, err = s.scan(ctx, w.idx); err != nil {
				return err
			}
		}
		// Under the lock no store of this index is under way, so an
		// unfinished set no head points at is left over.
		for _, key := range slices.Sorted(maps.Keys(w.idx.Registries)) {
			for g, n := range w.idx.unfinished(key) {
				if v.live[g] == 0 {
					if err := w.deleteSet(g, n); err != nil {
						return err
					}
				}
				w.idx.dropChunks(key, g)
			}
		}
		for _, account := range orphans(v, w.idx) {
			if err := s.cfg.Keyring.Delete(ctx, account); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		w.idx.Stamp, w.idx.err = "", nil
		_, err = w.rebuild()
		return err
	})
	return found, err
}
