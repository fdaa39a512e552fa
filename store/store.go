// Package store keeps registry credentials in the OS keyring: one keyring
// item per registry under the service "docker-credential-regcred", an index
// file of non-secret metadata so that listing reads no keyring item, chunking
// for secrets larger than the backend's item limit, a cross-process lock for
// writers, and the address matching that decides which entry answers a lookup.
//
// # Order of writes
//
// A process can die between any two writes. The order below guarantees that
// no secret ever sits in the keyring without the index naming it (so `list`
// and `doctor` always see every secret), and that `get` returns the old or
// the new credential, never a mix of the two:
//
//	store, small secret:  [index: add entry, if new] → keyring: credential item
//	                      → [keyring: delete old chunk sets] → [index: username, chunk sets]
//	store, large secret:  index: record the new chunk set → keyring: chunk items
//	                      → keyring: head item (the switch-over) → keyring: delete
//	                      older chunk sets → index: username, only the new set
//	erase:                keyring: credential item → keyring: chunk items → index: drop entry
//
// A crash leaves at worst an index entry whose item is gone (`get` answers
// not found, `doctor --fix` drops it) or chunk sets the index still records
// (the next store or erase of that registry deletes them). Writers hold an
// exclusive file lock for the whole sequence, so concurrent stores and erases
// never lose an entry; readers take no lock: the index is replaced by rename.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/gofrs/flock"
)

// Credential is one registry's stored credential.
type Credential struct {
	ServerURL string
	Username  string
	Secret    string
}

// Config says where and how a Store keeps its data.
type Config struct {
	// Dir holds the index and the lock file; DefaultDir() when empty.
	Dir string
	// ItemLimit is the largest keyring item in bytes before a credential is
	// split; DefaultItemLimit when zero.
	ItemLimit int
	// Timeout bounds waiting for the writers' lock; DefaultTimeout when zero.
	Timeout time.Duration
	// Keyring is where items go; required.
	Keyring Keyring
	// Fault, when set, is called with a step's name before each write. Crash
	// tests use it to stop a process at an exact step; it is nil otherwise.
	Fault func(step string)
}

// Store is the credential store. Its methods are safe for concurrent use by
// many processes and goroutines: each write takes the lock on a file
// descriptor of its own.
type Store struct {
	cfg Config
}

// DefaultDir is where the index lives unless configured: the user's config
// directory (on Linux $XDG_CONFIG_HOME/regcred or ~/.config/regcred).
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(d, "regcred"), nil
}

// New returns a Store for cfg, filling in defaults.
func New(cfg Config) (*Store, error) {
	if cfg.Keyring == nil {
		return nil, errors.New("store: no keyring")
	}
	if cfg.Dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		cfg.Dir = d
	}
	if cfg.ItemLimit == 0 {
		cfg.ItemLimit = DefaultItemLimit
	}
	if cfg.ItemLimit < minItemLimit {
		return nil, fmt.Errorf("item limit %d is below the minimum of %d bytes", cfg.ItemLimit, minItemLimit)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Store{cfg: cfg}, nil
}

// IndexPath is the index file's path.
func (s *Store) IndexPath() string { return filepath.Join(s.cfg.Dir, "index.json") }

func (s *Store) lockPath() string { return filepath.Join(s.cfg.Dir, "index.lock") }

// fault marks a step for crash tests.
func (s *Store) fault(step string) {
	if s.cfg.Fault != nil {
		s.cfg.Fault(step)
	}
}

// Index returns the current index.
func (s *Store) Index() (*Index, error) { return loadIndex(s.IndexPath()) }

// List returns server → username for every stored credential, never nil. It
// reads only the index, except for an entry a crashed store left mid-way
// (Entry.Pending): that one item is read so list and get agree.
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	text, err := readIndexText(s.IndexPath())
	if err != nil {
		return nil, err
	}
	out, pending, err := decodeUsernames(text)
	if err != nil {
		return nil, corrupt(s.IndexPath(), err)
	}
	for _, server := range pending {
		if rec, err := s.readItem(ctx, server); err == nil {
			out[server] = rec.U
		}
	}
	return out, nil
}

// Get returns the credential that answers query (see Index.Resolve), with
// ServerURL set to the stored address. It returns ErrNotFound when none does.
func (s *Store) Get(ctx context.Context, query string) (Credential, error) {
	idx, err := s.Index()
	if err != nil {
		return Credential{}, err
	}
	server, ok := idx.Resolve(query)
	if !ok {
		return Credential{}, ErrNotFound
	}
	rec, err := s.readItem(ctx, server)
	if errors.Is(err, errChunkMissing) {
		// A concurrent store may have switched generations between our
		// reads of the head and of its chunks: read once more.
		rec, err = s.readItem(ctx, server)
	}
	if err != nil {
		return Credential{}, err
	}
	return Credential{ServerURL: server, Username: rec.U, Secret: rec.S}, nil
}

// errChunkMissing marks a head whose chunk set is gone.
var errChunkMissing = errors.New("a chunk of this credential is missing")

// readItem reads and decodes the credential stored under server.
func (s *Store) readItem(ctx context.Context, server string) (*record, error) {
	data, err := s.cfg.Keyring.Get(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", server, err)
	}
	it, err := decodeItem(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", server, err)
	}
	if it.rec != nil {
		return it.rec, nil
	}
	chunks := make([][]byte, it.head.N)
	for i := range chunks {
		c, err := s.cfg.Keyring.Get(ctx, chunkName(it.head.G, i+1))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("read %s: %w", server, errChunkMissing)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", server, err)
		}
		chunks[i] = []byte(c)
	}
	rec, err := decodeRecord(JoinChunks(chunks), it.head)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", server, err)
	}
	return rec, nil
}

// Put stores a credential under server, replacing any entry for the same
// registry (under this or an equivalent spelling of its address).
func (s *Store) Put(ctx context.Context, c Credential) error {
	if err := ValidateServerURL(c.ServerURL); err != nil {
		return err
	}
	if c.Username == "" {
		return errors.New("no credentials username")
	}
	data, err := encodeRecord(c.Username, c.Secret)
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	var parts [][]byte
	if len(data) > s.cfg.ItemLimit {
		parts = SplitChunks(data, s.cfg.ItemLimit)
		if len(parts) > maxChunks {
			return fmt.Errorf("credential for %s is too large (%d bytes)", c.ServerURL, len(data))
		}
	}
	return s.withLock(ctx, func(idx *Index, snap snapshot) error {
		return s.put(ctx, idx, snap, c, data, parts)
	})
}

func (s *Store) put(ctx context.Context, idx *Index, snap snapshot, c Credential, data []byte, parts [][]byte) (err error) {
	server := c.ServerURL
	entry, exists := idx.Entries[server]
	if !exists {
		entry = &Entry{Username: c.Username}
		idx.Entries[server] = entry
	}
	oldSets := maps.Clone(entry.Chunks)
	var head *chunkHead
	live := false
	defer func() {
		if err != nil && !live {
			s.rollback(ctx, idx, snap, server, head)
		}
	}()
	hadPending := entry.Pending != nil
	if exists && entry.Username != c.Username {
		// Record the intent: until the index says otherwise, the keyring
		// may hold either username (List reads the item to tell).
		user := c.Username
		entry.Pending = &user
	}
	itemData := string(data)
	if parts != nil {
		head, err = newHead(data, len(parts))
		if err != nil {
			return err
		}
		if entry.Chunks == nil {
			entry.Chunks = map[string]int{}
		}
		entry.Chunks[head.G] = head.N
		s.fault("put:index-chunks")
		if err := s.save(idx); err != nil {
			return err
		}
		for i, p := range parts {
			s.fault("put:chunk")
			if err := s.cfg.Keyring.Set(ctx, chunkName(head.G, i+1), string(p)); err != nil {
				return fmt.Errorf("store %s: %w", server, err)
			}
		}
		h, err := json.Marshal(head)
		if err != nil {
			return fmt.Errorf("encode chunk head: %w", err)
		}
		itemData = string(h)
	} else if !exists || entry.Pending != nil {
		s.fault("put:index-new")
		if err := s.save(idx); err != nil {
			return err
		}
	}
	s.fault("put:item")
	if err := s.cfg.Keyring.Set(ctx, server, itemData); err != nil {
		return fmt.Errorf("store %s: %w", server, err)
	}
	live = true
	// The new credential is live. Clean up what it replaced.
	if err := s.deleteSets(ctx, oldSets); err != nil {
		return fmt.Errorf("store %s: remove old chunks: %w", server, err)
	}
	newSets := map[string]int(nil)
	if parts != nil {
		newSets = map[string]int{}
		for g, n := range entry.Chunks {
			if _, old := oldSets[g]; !old {
				newSets[g] = n
			}
		}
	}
	changed := exists && (entry.Username != c.Username || len(oldSets) > 0 || hadPending) || parts != nil
	entry.Username = c.Username
	entry.Pending = nil
	entry.Chunks = newSets
	// Other spellings of the same registry are replaced by this one.
	others := idx.Equivalents(server)
	for _, other := range others {
		if other == server {
			continue
		}
		if err := s.eraseEntry(ctx, idx, other); err != nil {
			return fmt.Errorf("store %s: replace %s: %w", server, other, err)
		}
		changed = true
	}
	if !changed {
		return nil
	}
	s.fault("put:index-final")
	return s.save(idx)
}

// rollback undoes a failed put's index changes: it deletes the new chunk
// set's items (best effort) and puts the index file back as it was, byte
// for byte (or absent). Only a chunk set whose items could not be deleted
// stays recorded, for the next store or erase of the entry to delete.
func (s *Store) rollback(ctx context.Context, idx *Index, snap snapshot, server string, head *chunkHead) {
	if head != nil && s.deleteSets(ctx, map[string]int{head.G: head.N}) != nil {
		_ = s.save(idx)
		return
	}
	_ = snap.restore(s.IndexPath())
}

// Erase removes every entry naming the same registry as query. Erasing a
// registry that is not stored succeeds and touches nothing.
func (s *Store) Erase(ctx context.Context, query string) error {
	return s.withLock(ctx, func(idx *Index, _ snapshot) error {
		targets := idx.Equivalents(query)
		if _, ok := idx.Entries[query]; ok && !slices.Contains(targets, query) {
			targets = append(targets, query)
		}
		if len(targets) == 0 {
			return nil
		}
		for _, server := range targets {
			if err := s.eraseEntry(ctx, idx, server); err != nil {
				return fmt.Errorf("erase %s: %w", server, err)
			}
		}
		s.fault("erase:index")
		return s.save(idx)
	})
}

// eraseEntry deletes server's keyring items and drops it from idx (in
// memory; the caller saves). Items already gone are not an error.
func (s *Store) eraseEntry(ctx context.Context, idx *Index, server string) error {
	entry := idx.Entries[server]
	// The credential item goes first: from then on get answers not found,
	// whatever else an interruption leaves for the next erase to delete.
	s.fault("erase:item")
	if err := s.cfg.Keyring.Delete(ctx, server); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.deleteSets(ctx, entry.Chunks); err != nil {
		return err
	}
	delete(idx.Entries, server)
	return nil
}

// deleteSets deletes every chunk item of the given chunk sets.
func (s *Store) deleteSets(ctx context.Context, sets map[string]int) error {
	gens := make([]string, 0, len(sets))
	for g := range sets {
		gens = append(gens, g)
	}
	sort.Strings(gens)
	for _, g := range gens {
		for i := 1; i <= sets[g]; i++ {
			s.fault("delete:chunk")
			if err := s.cfg.Keyring.Delete(ctx, chunkName(g, i)); err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// save writes the index.
func (s *Store) save(idx *Index) error { return saveIndex(s.IndexPath(), idx) }

// withLock runs fn on a freshly loaded index while holding the writers'
// lock. fn saves the index itself, at the points the write order requires.
func (s *Store) withLock(ctx context.Context, fn func(*Index, snapshot) error) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.cfg.Dir, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	snap, err := takeSnapshot(s.IndexPath())
	if err != nil {
		return err
	}
	idx, err := snap.decode(s.IndexPath())
	if err != nil {
		return err
	}
	return fn(idx, snap)
}

// lock takes the exclusive writers' lock, waiting at most Timeout.
func (s *Store) lock(ctx context.Context) (func(), error) {
	fl := flock.New(s.lockPath(), flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	got := make(chan error, 1)
	go func() { got <- fl.Lock() }()
	select {
	case err := <-got:
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", s.lockPath(), err)
		}
		return func() { _ = fl.Unlock() }, nil
	case <-ctx.Done():
		go func() { // release the lock if it is granted after we gave up
			if <-got == nil {
				_ = fl.Unlock()
			}
		}()
		return nil, fmt.Errorf("another docker-credential-regcred holds %s (waited %s)", s.lockPath(), s.cfg.Timeout)
	}
}

// Environment variables that configure a Store.
const (
	// EnvItemLimit overrides DefaultItemLimit (bytes per keyring item).
	EnvItemLimit = "REGCRED_ITEM_LIMIT"
	// EnvTimeout overrides DefaultTimeout (a Go duration bounding each keyring call).
	EnvTimeout = "REGCRED_TIMEOUT"
)

// ConfigFromEnv builds the Config for the OS keyring from the environment,
// read through getenv (os.Getenv in main). Bad values are errors, not
// silently ignored.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Timeout: DefaultTimeout}
	if v := getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive Go duration such as 30s", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	if v := getenv(EnvItemLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minItemLimit {
			return Config{}, fmt.Errorf("%s=%q: want a number of bytes of at least %d", EnvItemLimit, v, minItemLimit)
		}
		cfg.ItemLimit = n
	}
	cfg.Keyring = OSKeyring{Timeout: cfg.Timeout}
	return cfg, nil
}
