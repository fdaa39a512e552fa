package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

// Report is what Check found in the keyring that is not in order.
type Report struct {
	// Cached says list answers from a ListCache, the keyring being unable
	// to enumerate: list shows what this machine stored.
	Cached bool
	// Legacy lists items an older version wrote, or whose label was edited
	// by hand: doctor --fix rewrites them.
	Legacy []string
	// OldIndex says the index file of an older version is still there.
	OldIndex bool
	// UnreadableIndex says that index file is there but cannot be read:
	// make it the user's, or remove it.
	UnreadableIndex string
	// Erasing lists credentials whose erase was interrupted (the item
	// marked, some chunks left): doctor --fix finishes it.
	Erasing []string
	// Corrupt lists credential items that cannot be read: erase them
	// (docker logout) and log in again.
	Corrupt []string
	// Gone lists registries the list cache shows whose item is gone.
	Gone []string
	// Stray lists chunk items no credential uses: left by an interrupted store.
	Stray []string
}

// OK reports whether nothing is out of order.
func (r Report) OK() bool { return len(r.Problems()) == 0 }

// Problems describes each problem in one line.
func (r Report) Problems() []string {
	var out []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			out = append(out, fmt.Sprintf("%d %s: %s", len(names), what, strings.Join(names, ", ")))
		}
	}
	add("items are in an older version's form", r.Legacy)
	if r.OldIndex {
		out = append(out, "an older version's index file is still there")
	}
	if r.UnreadableIndex != "" {
		out = append(out, "an older version's index file cannot be read: make "+r.UnreadableIndex+" yours, or remove it")
	}
	add("items cannot be read (erase them with docker logout and log in again)", r.Corrupt)
	add("erases were interrupted", r.Erasing)
	add("registries list shows are gone from the keyring", r.Gone)
	if len(r.Stray) > 0 {
		out = append(out, fmt.Sprintf("%d chunk items belong to no credential", len(r.Stray)))
	}
	return out
}

// forgetter is a keyring that answers List from a cache (ListCache).
type forgetter interface{ Forget(account string) error }

// Check reads every item and reports what is not in order. It changes nothing.
func (s *Store) Check(ctx context.Context) (Report, error) {
	if s.cfg.Remote != nil {
		return s.remoteCheck(ctx)
	}
	labels, err := s.cfg.Keyring.List(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("check: %w", err)
	}
	var r Report
	_, r.Cached = s.cfg.Keyring.(forgetter)
	r.OldIndex = s.legacyPending()
	if s.legacyUnreadable() {
		r.UnreadableIndex = s.cfg.LegacyIndex
	}
	used := map[string]bool{} // chunk accounts a head names
	var chunks []string
	for _, account := range slices.Sorted(maps.Keys(labels)) {
		if _, ok := parseChunk(account); ok {
			chunks = append(chunks, account)
			continue
		}
		if account == keyring.LegacyStamp {
			r.Legacy = append(r.Legacy, account)
		}
		if address.Validate(account) != nil {
			continue // not a credential of ours
		}
		data, err := s.cfg.Keyring.Get(ctx, account)
		switch {
		case errors.Is(err, ErrNotFound):
			r.Gone = append(r.Gone, account)
			continue
		case err != nil:
			return Report{}, fmt.Errorf("check: read %s: %w", account, err)
		}
		it, derr := decodeItem(data)
		rec, aerr := s.assemble(ctx, account, data)
		switch {
		case errors.Is(aerr, errErasing):
			r.Erasing = append(r.Erasing, account)
			continue
		case derr != nil || corrupt(aerr):
			r.Corrupt = append(r.Corrupt, account)
			continue
		case aerr != nil:
			return Report{}, fmt.Errorf("check: read %s: %w", account, aerr)
		}
		if it.head != nil {
			for _, name := range it.head.chunkNames(account) {
				used[name] = true
			}
		}
		l, want := labels[account], keyring.Label{Server: rec.A, User: rec.U}
		ok := l == want && keyFor(l.Server) == account
		if !want.Plain() && l == (keyring.Label{}) {
			ok = true // a label that names no account (see keyring.Label.String): List reads the item
		}
		if it.version() != itemVersion || !ok {
			r.Legacy = append(r.Legacy, account)
		}
	}
	for _, c := range chunks {
		if !used[c] {
			r.Stray = append(r.Stray, c)
		}
	}
	return r, nil
}

// Repair puts the keyring in order, holding the writers' lock: it migrates
// older items, deletes stray chunks — under the lock no store of this user
// is under way, so none is a store's chunk in flight — and drops gone
// registries from a list cache, and finishes interrupted erases. Corrupt items are left for the user to
// erase: deleting a secret is the user's call. It returns what it found.
func (s *Store) Repair(ctx context.Context) (Report, error) {
	found, err := s.Check(ctx)
	if err != nil {
		return Report{}, err
	}
	if s.cfg.Remote != nil {
		return found, errRemoteRepair
	}
	w, unlock, err := s.begin(ctx)
	if err != nil {
		return found, err
	}
	defer unlock()
	if err := w.migrate(); err != nil {
		return found, err
	}
	now, err := s.Check(ctx)
	if err != nil {
		return found, err
	}
	if err := w.deleteNames(now.Stray); err != nil {
		return found, err
	}
	for _, account := range now.Erasing {
		if err := w.erase(account); err != nil {
			return found, err
		}
	}
	if f, ok := s.cfg.Keyring.(forgetter); ok {
		for _, account := range now.Gone {
			if err := f.Forget(account); err != nil {
				return found, err
			}
		}
	}
	return found, nil
}
