// Package store keeps registry credentials in the OS keyring (package
// keyring), one item per registry under the service
// "docker-credential-regcred". The keyring is the only truth: there is no
// index to keep in step with it. Open is how a command gets its store: it
// chooses the keyring, records the choice once it is sure of it (see
// keyring.Detect), and opens the store on it.
//
// An item is named by its registry's canonical address (see
// address.Canonical), so every spelling of an address reaches the same item,
// on case-sensitive and case-insensitive keyrings alike. It holds the
// address as the client stored it, the username and the secret, and the
// keyring shows the address and username as its label. Where the label is
// written in the same call as the secret (gnome-keyring, Credential
// Manager) list reads labels, not secrets; where it is written apart
// (KeePassXC, KWallet: see keyring.Provider) list reads the items, by the
// ItemFormat the store gives each keyring. Where
// the OS cannot enumerate its keyring (macOS), a list of what this machine
// stored answers list.
//
// A secret too large for one item is cut into chunks, kept in one of the
// registry's two chunk slots, "a" and "b"; the item then holds a head that
// names the slot, the chunk count and the chunks' SHA-256. Chunks are
// written 1..n and deleted n..1, so a slot always holds chunks 1..m.
//
// Writers hold one lock per user (see DefaultLockPath), waiting while it
// changes hands and giving up only on one holder that keeps it past the
// time-out, and ask the keyring what they replace; readers take no lock. Under that lock the Secret
// Service keyring also keeps writes to KeePassXC out of its saves, which a
// write landing in can crash (see keyring.Provider). A process can die,
// and a keyring call can time out and land later, between any two steps,
// so writes run in this order:
//
//	store: read the item → clear the slot it does not use and write the
//	       chunks there, if the secret needs them → write the item → clear
//	       every slot the new item does not use
//	erase: read the item → if chunked, mark it erased → clear both slots
//	       → delete it
//
// Writing the item is the switch-over: get returns the old or the new
// credential at every step, never neither for an overwrite and never a mix
// (a reader whose chunks were replaced under it finds the item changed and
// reads again). An erase takes the secret's chunks before the item that
// names them, so what an interrupted erase leaves is always named by the
// item — doctor finds it even where list answers from a cache — and get
// and list find no credential in a marked one. Whatever an interrupted
// write leaves, the next write of that registry clears, and doctor --fix
// finishes an interrupted erase. Only content that does not decode is
// corrupt: a keyring that does not answer (a time-out, a locked keyring)
// fails the call — get, list, doctor and migration alike — and never
// reads as a corrupt credential. Items older versions wrote are rewritten
// in this form first (see migrate), on the keyring they used.
//
// Under WSL 2 a store may instead be on a Remote (Config.Remote): the
// Windows Credential Manager, through regcred's own Windows build (package
// wsl), which keeps the items by this same design on its side. The store
// then checks its input as above and asks the Remote for whole
// credentials; it writes no item and takes no lock of its own.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

// ErrNotFound is returned for a registry the keyring holds no credential
// for (the keyring's own ErrNotFound, so either compares equal).
var ErrNotFound = keyring.ErrNotFound

// Credential is one registry's stored credential.
type Credential struct {
	ServerURL string
	Username  string
	Secret    string
}

// Config says where and how a Store keeps its data.
type Config struct {
	// Keyring is where items go; required unless Remote is set.
	Keyring keyring.Keyring
	// Remote, when set, keeps whole credentials in place of Keyring.
	Remote Remote
	// LockPath is the writers' lock file; DefaultLockPath() when empty.
	LockPath string
	// ItemLimit is the largest keyring item in bytes before a credential is
	// split; when zero, the keyring's own (keyring.OS.ItemLimit), or 64 KiB.
	ItemLimit int
	// Timeout bounds how long one holder may keep the writers' lock while
	// this writer waits (it waits as long as the lock changes hands), and
	// re-reading an item that keeps changing; keyring.DefaultTimeout when
	// zero.
	Timeout time.Duration
	// LegacyIndex is the index file versions before 3 kept: while it exists
	// their items may still need migrating. Empty for none.
	LegacyIndex string
	// Fault, when set, is called with a step's name before each keyring
	// write a writer makes (see faulting). Crash tests use it to stop a
	// process at an exact step.
	Fault func(step string)
}

// Store is the credential store. Its methods are safe for concurrent use by
// many processes and goroutines.
type Store struct {
	cfg Config
}

// New returns a Store for cfg, filling in defaults.
func New(cfg Config) (*Store, error) {
	if cfg.Keyring == nil && cfg.Remote == nil {
		return nil, errors.New("store: no keyring")
	}
	if cfg.LockPath == "" {
		p, err := DefaultLockPath(os.Getenv)
		if err != nil {
			return nil, err
		}
		cfg.LockPath = p
	}
	if l, ok := cfg.Keyring.(interface{ ItemLimit() int }); ok && cfg.ItemLimit == 0 {
		cfg.ItemLimit = l.ItemLimit()
	}
	if cfg.ItemLimit == 0 {
		cfg.ItemLimit = keyring.SecretServiceItemLimit
	}
	if cfg.ItemLimit < minItemLimit {
		return nil, fmt.Errorf("item limit %d is below the minimum of %d bytes", cfg.ItemLimit, minItemLimit)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = keyring.DefaultTimeout
	}
	return &Store{cfg: cfg}, nil
}

// keyFor is the keyring account of the registry server names.
func keyFor(server string) string { return address.Canonical(server) }

// Get returns the credential for query or any equivalent spelling of it,
// with ServerURL set to the address it was stored under. It returns
// ErrNotFound when there is none, and for an address that could never be
// stored.
func (s *Store) Get(ctx context.Context, query string) (Credential, error) {
	if address.Validate(query) != nil {
		return Credential{}, ErrNotFound
	}
	if s.cfg.Remote != nil {
		return s.remoteGet(ctx, query)
	}
	key := keyFor(query)
	c, err := s.read(ctx, key)
	if errors.Is(err, ErrNotFound) && s.legacyPending() {
		// Version 1 named items by the address as typed: migrate, look again.
		_, unlock, berr := s.begin(ctx)
		if berr != nil {
			return Credential{}, berr
		}
		_ = unlock()
		c, err = s.read(ctx, key)
	}
	return c, err
}

// read returns the credential stored under key. A writer may replace its
// chunks while they are read; the item has then changed too, and is read
// again for as long as it keeps changing (at most Timeout).
func (s *Store) read(ctx context.Context, key string) (Credential, error) {
	deadline := time.Now().Add(s.cfg.Timeout)
	data, err := s.cfg.Keyring.Get(ctx, key)
	for {
		if errors.Is(err, ErrNotFound) {
			return Credential{}, ErrNotFound
		}
		if err != nil {
			return Credential{}, fmt.Errorf("read %s: %w", key, err)
		}
		rec, aerr := s.assemble(ctx, key, data)
		if errors.Is(aerr, errErasing) {
			return Credential{}, ErrNotFound
		}
		if aerr == nil {
			return Credential{ServerURL: rec.A, Username: rec.U, Secret: rec.S}, nil
		}
		if !errors.Is(aerr, errChunkMissing) && !errors.Is(aerr, errChunksMixed) {
			return Credential{}, fmt.Errorf("read %s: %w", key, aerr)
		}
		again, gerr := s.cfg.Keyring.Get(ctx, key)
		if gerr == nil && again == data || time.Now().After(deadline) {
			return Credential{}, fmt.Errorf("read %s: %w", key, aerr)
		}
		// The item changed or went: read what it is now (an erased one is
		// not found, never "corrupt").
		data, err = again, gerr
	}
}

// errChunkMissing marks a head whose chunks are not all there.
var errChunkMissing = errors.New("a chunk of this credential is missing")

// corrupt reports whether err, from assemble, says what the keyring holds
// cannot be read — not that the keyring could not be asked (a time-out, a
// locked keyring), which says nothing about the credential.
func corrupt(err error) bool {
	return errors.Is(err, errCorruptItem) || errors.Is(err, errChunkMissing) || errors.Is(err, errChunksMixed)
}

// assemble decodes the item stored under account, reading its chunks if it
// has any. A record without an address (version 1) is named by account.
func (s *Store) assemble(ctx context.Context, account, data string) (*record, error) {
	it, err := decodeItem(data)
	if err != nil {
		return nil, err
	}
	rec := it.rec
	if it.head != nil && it.head.E {
		return nil, errErasing
	}
	if it.head != nil {
		var whole []byte
		for _, name := range it.head.chunkNames(account) {
			c, err := s.cfg.Keyring.Get(ctx, name)
			if errors.Is(err, ErrNotFound) {
				return nil, errChunkMissing
			}
			if err != nil {
				return nil, err
			}
			whole = append(whole, c...)
		}
		if rec, err = decodeRecord(whole, it.head); err != nil {
			return nil, err
		}
	}
	if rec.A == "" {
		rec.A = account
	}
	return rec, nil
}

// Put stores a credential under server, replacing the credential of the
// same registry under this or any equivalent spelling of its address.
func (s *Store) Put(ctx context.Context, c Credential) error {
	if err := address.Validate(c.ServerURL); err != nil {
		return err
	}
	key := address.Canonical(c.ServerURL)
	if c.Username == "" {
		return errors.New("no credentials username")
	}
	if s.cfg.Remote != nil {
		return s.cfg.Remote.Put(ctx, c.ServerURL, c.Username, c.Secret)
	}
	data, err := encodeRecord(c.ServerURL, c.Username, c.Secret)
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	var parts [][]byte
	if len(data) > s.cfg.ItemLimit {
		if err := fitHead(c.ServerURL, c.Username, s.cfg.ItemLimit); err != nil {
			return fmt.Errorf("store %s: %w", c.ServerURL, err)
		}
		if parts = splitChunks(data, s.cfg.ItemLimit); len(parts) > maxChunks {
			return fmt.Errorf("credential for %s is too large (%d bytes)", c.ServerURL, len(data))
		}
	}
	w, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := w.put(key, keyring.Label{Server: c.ServerURL, User: c.Username}, data, parts); err != nil {
		return fmt.Errorf("store %s: %w", c.ServerURL, err)
	}
	return nil
}

// Erase removes the credential of query's registry, under whichever
// spelling it was stored, with its chunks. Erasing a registry that is not
// stored succeeds and changes nothing.
func (s *Store) Erase(ctx context.Context, query string) error {
	if err := address.Validate(query); err != nil {
		return err
	}
	if s.cfg.Remote != nil {
		return s.cfg.Remote.Erase(ctx, query)
	}
	w, unlock, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := w.erase(keyFor(query)); err != nil {
		return fmt.Errorf("erase %s: %w", query, err)
	}
	return nil
}

// List returns server → username for every stored credential, never nil:
// the keyring's labels, and the content of any item an older version
// wrote (which carries no label of this version).
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	if s.cfg.Remote != nil {
		return s.cfg.Remote.List(ctx)
	}
	labels, err := s.cfg.Keyring.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	out := make(map[string]string, len(labels))
	for account, l := range labels {
		if _, chunk := parseChunk(account); chunk || address.Validate(account) != nil {
			continue // a chunk, or not a credential of ours
		}
		if l == (keyring.Label{}) || keyFor(l.Server) != account {
			data, err := s.cfg.Keyring.Get(ctx, account)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("list: read %s: %w", account, err)
			}
			rec, err := s.assemble(ctx, account, data)
			if corrupt(err) || errors.Is(err, errErasing) {
				continue // doctor reports it
			}
			if err != nil {
				return nil, fmt.Errorf("list: read %s: %w", account, err)
			}
			l = keyring.Label{Server: rec.A, User: rec.U}
		}
		out[l.Server] = l.User
	}
	return out, nil
}
