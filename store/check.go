package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Report is what Check found out of step between the index and the keyring.
type Report struct {
	// Missing lists index entries whose keyring item is gone: get answers
	// not found for them.
	Missing []string
	// Stale maps an entry to chunk sets the index records but the entry's
	// item no longer uses: left by an interrupted store.
	Stale map[string][]string
	// Unlisted lists credential items in the keyring that the index lacks:
	// secrets list does not show. Nil when the keyring cannot be enumerated.
	Unlisted []string
	// Orphans lists chunk items no index entry accounts for.
	Orphans []string
	// Interrupted lists entries a crashed store left with a pending username.
	Interrupted []string
	// Enumerated says whether the keyring's items could be listed (the
	// Secret Service can; other backends cannot).
	Enumerated bool
}

// OK reports whether nothing is out of step.
func (r Report) OK() bool {
	return len(r.Missing) == 0 && len(r.Stale) == 0 && len(r.Unlisted) == 0 && len(r.Orphans) == 0 && len(r.Interrupted) == 0
}

// Problems describes each problem in one line.
func (r Report) Problems() []string {
	var out []string
	if len(r.Missing) > 0 {
		out = append(out, fmt.Sprintf("%d listed registries have no keyring item: %s", len(r.Missing), strings.Join(r.Missing, ", ")))
	}
	if len(r.Stale) > 0 {
		out = append(out, fmt.Sprintf("%d registries have leftover chunk sets from an interrupted store: %s", len(r.Stale), strings.Join(slices.Sorted(maps.Keys(r.Stale)), ", ")))
	}
	if len(r.Unlisted) > 0 {
		out = append(out, fmt.Sprintf("%d keyring items are not in the index (list does not show them): %s", len(r.Unlisted), strings.Join(r.Unlisted, ", ")))
	}
	if len(r.Orphans) > 0 {
		out = append(out, fmt.Sprintf("%d chunk items belong to no registry", len(r.Orphans)))
	}
	if len(r.Interrupted) > 0 {
		out = append(out, fmt.Sprintf("%d registries were left mid-store: %s", len(r.Interrupted), strings.Join(r.Interrupted, ", ")))
	}
	return out
}

// Enumerator lists the accounts of every keyring item under Service.
type Enumerator interface {
	Accounts(ctx context.Context) ([]string, error)
}

// Check compares the index with the keyring. It reads every listed item.
func (s *Store) Check(ctx context.Context) (Report, error) {
	idx, err := s.Index()
	if err != nil {
		return Report{}, err
	}
	r := Report{Stale: map[string][]string{}}
	known := map[string]bool{}
	for _, server := range slices.Sorted(maps.Keys(idx.Entries)) {
		e := idx.Entries[server]
		known[server] = true
		if e.Pending != nil {
			r.Interrupted = append(r.Interrupted, server)
		}
		live := ""
		data, err := s.cfg.Keyring.Get(ctx, server)
		switch {
		case errors.Is(err, ErrNotFound):
			r.Missing = append(r.Missing, server)
		case err != nil:
			return Report{}, fmt.Errorf("read %s: %w", server, err)
		default:
			if it, err := decodeItem(data); err == nil && it.head != nil {
				live = it.head.G
			}
		}
		for gen, n := range e.Chunks {
			for i := 1; i <= n; i++ {
				known[chunkName(gen, i)] = true
			}
			if gen != live {
				r.Stale[server] = append(r.Stale[server], gen)
			}
		}
	}
	if en, ok := s.cfg.Keyring.(Enumerator); ok {
		accounts, err := en.Accounts(ctx)
		if err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return Report{}, err
		}
		if err == nil {
			r.Enumerated = true
			for _, a := range accounts {
				switch {
				case known[a]:
				case strings.HasPrefix(a, chunkPrefix):
					r.Orphans = append(r.Orphans, a)
				default:
					r.Unlisted = append(r.Unlisted, a)
				}
			}
		}
	}
	if len(r.Stale) == 0 {
		r.Stale = nil
	}
	return r, nil
}

// Repair makes the index and the keyring agree again: it drops missing
// entries, deletes stale chunk sets and orphan chunks, and lists unlisted
// credential items again (reading their usernames), so no secret stays
// hidden from list. It holds the writers' lock and re-checks under it.
func (s *Store) Repair(ctx context.Context) (Report, error) {
	var fixed Report
	err := s.withLock(ctx, func(idx *Index, _ snapshot) error {
		r, err := s.Check(ctx)
		if err != nil {
			return err
		}
		fixed = r
		for _, server := range r.Missing {
			if err := s.deleteSets(ctx, idx.Entries[server].Chunks); err != nil {
				return err
			}
			delete(idx.Entries, server)
		}
		for server, gens := range r.Stale {
			e, ok := idx.Entries[server]
			if !ok {
				continue
			}
			for _, g := range gens {
				if err := s.deleteSets(ctx, map[string]int{g: e.Chunks[g]}); err != nil {
					return err
				}
				delete(e.Chunks, g)
			}
		}
		for _, server := range r.Interrupted {
			e, ok := idx.Entries[server]
			if !ok {
				continue
			}
			if rec, err := s.readItem(ctx, server); err == nil {
				e.Username = rec.U
			}
			e.Pending = nil
		}
		for _, a := range r.Orphans {
			if err := s.cfg.Keyring.Delete(ctx, a); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
		for _, server := range r.Unlisted {
			if ValidateServerURL(server) != nil {
				continue // not ours to interpret: leave it
			}
			rec, err := s.readItem(ctx, server)
			if err != nil {
				continue
			}
			idx.Entries[server] = &Entry{Username: rec.U}
		}
		return s.save(idx)
	})
	return fixed, err
}
