// Package store keeps registry credentials in the OS keyring: one keyring
// item per registry under the service "docker-credential-regcred", named by
// the registry's canonical address, chunking for secrets larger than the
// backend's item limit, a cross-process lock for writers, and an index file
// that caches what list shows.
//
// # Where the truth is
//
// The keyring. A registry's item is named by its canonical address (see
// CanonicalServer), so every spelling of it — other letter case, a scheme,
// a trailing slash, a Docker Hub alias — reaches the same single item, on
// case-sensitive and case-insensitive backends alike. The item holds the
// address as the client stored it, the username and the secret (or, when
// split, the head of its chunk set, with the address and username). get and
// erase go straight to that item and never consult the index; the index only
// saves list from reading every item, and is rebuilt from the keyring when
// it may be out of date (see List).
//
// # Order of writes
//
// A process can die, or a keyring call can time out and still complete
// later, between any two steps. Each step below is a method of writer:
//
//	store: readCurrent → [invalidate] → [index records the replaced and the
//	       new chunk sets as unfinished] → [writeChunks] → switchOver (the
//	       credential item) → deleteReplaced (every other chunk set) →
//	       finish ([new stamp], index)
//	erase: readCurrent → invalidate → [index records its chunk set] →
//	       delete the item (the switch-over) → delete its chunk sets →
//	       finish (new stamp, index)
//
// [invalidate] runs only when what list shows changes (a new registry, a new
// spelling or username, an erase). The switch-over is one keyring write, so
// get returns the old or the new credential at every step, never neither
// for an overwrite and never a mix. A chunk set exists only while a head
// points at it or the index records it as unfinished; the next write of
// that registry, or doctor --fix, deletes it otherwise. Writers of one index
// hold an exclusive file lock for the whole sequence; readers take no lock.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
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

// keyFor is the keyring account of the registry server names.
func keyFor(server string) string { return CanonicalServer(server) }

// Get returns the credential for query or any equivalent spelling of it,
// with ServerURL set to the address it was stored under. It returns
// ErrNotFound when there is none, and for an address that could never be
// stored. It reads the keyring, not the index, and mends the index entry
// when that disagrees.
func (s *Store) Get(ctx context.Context, query string) (Credential, error) {
	if ValidateServerURL(query) != nil {
		return Credential{}, ErrNotFound
	}
	key := keyFor(query)
	idx, _ := loadIndex(s.IndexPath(), false) // a cache: unreadable is as good as empty
	rec, cached, err := s.readCredential(ctx, key)
	if errors.Is(err, ErrNotFound) && idx != nil && len(idx.legacy) > 0 {
		// Items written by regcred before version 2 are named otherwise.
		if err := s.write(ctx, func(*writer) error { return nil }); err != nil {
			return Credential{}, err
		}
		rec, cached, err = s.readCredential(ctx, key)
	}
	if err != nil {
		return Credential{}, err
	}
	if idx != nil {
		s.mend(idx, key, cached)
	}
	return Credential{ServerURL: rec.A, Username: rec.U, Secret: rec.S}, nil
}

// mend records key's credential in the index when the index disagrees, if
// the writers' lock is free right now; it is only a cache, so a busy lock
// or a failed write is no error.
func (s *Store) mend(idx *index, key string, c entry) {
	if idx.Registries[key].same(c) {
		return
	}
	fl := flock.New(s.lockPath(), flock.SetPermissions(0o600))
	if os.MkdirAll(s.cfg.Dir, 0o700) != nil {
		return
	}
	if ok, err := fl.TryLock(); !ok || err != nil {
		return
	}
	defer fl.Unlock()
	idx, err := loadIndex(s.IndexPath(), true)
	if err != nil || len(idx.legacy) > 0 {
		return
	}
	idx.setCredential(key, c)
	_ = idx.save(s.IndexPath())
}

// errChunkMissing marks a head whose chunk set is gone.
var errChunkMissing = errors.New("a chunk of this credential is missing")

// readItem reads and decodes the item stored under account.
func (s *Store) readItem(ctx context.Context, account string) (item, error) {
	data, err := s.cfg.Keyring.Get(ctx, account)
	if err != nil {
		return item{}, err
	}
	return decodeItem(data)
}

// readCredential reads the whole credential stored under account, its
// chunks included, and the index entry that describes it. Its address is
// account when the item predates version 2.
func (s *Store) readCredential(ctx context.Context, account string) (*record, entry, error) {
	rec, it, err := s.readRecord(ctx, account)
	if errors.Is(err, errChunkMissing) {
		// A concurrent store may have switched generations between our
		// reads of the head and of its chunks: read once more.
		rec, it, err = s.readRecord(ctx, account)
	}
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, entry{}, ErrNotFound
		}
		return nil, entry{}, fmt.Errorf("read %s: %w", account, err)
	}
	if rec.A == "" {
		rec.A = account
	}
	e := entryOf(it)
	e.Server = rec.A
	return rec, e, nil
}

func (s *Store) readRecord(ctx context.Context, account string) (*record, item, error) {
	it, err := s.readItem(ctx, account)
	if err != nil {
		return nil, it, err
	}
	if it.rec != nil {
		return it.rec, it, nil
	}
	chunks := make([][]byte, it.head.N)
	for i := range chunks {
		c, err := s.cfg.Keyring.Get(ctx, chunkName(it.head.G, i+1))
		if errors.Is(err, ErrNotFound) {
			return nil, it, errChunkMissing
		}
		if err != nil {
			return nil, it, err
		}
		chunks[i] = []byte(c)
	}
	rec, err := decodeRecord(joinChunks(chunks), it.head)
	return rec, it, err
}

// Put stores a credential under server, replacing the credential of the
// same registry under this or any equivalent spelling of its address.
func (s *Store) Put(ctx context.Context, c Credential) error {
	if err := ValidateServerURL(c.ServerURL); err != nil {
		return err
	}
	if c.Username == "" {
		return errors.New("no credentials username")
	}
	data, err := encodeRecord(c.ServerURL, c.Username, c.Secret)
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	var parts [][]byte
	if len(data) > s.cfg.ItemLimit {
		parts = splitChunks(data, s.cfg.ItemLimit)
		if len(parts) > maxChunks {
			return fmt.Errorf("credential for %s is too large (%d bytes)", c.ServerURL, len(data))
		}
	}
	return s.write(ctx, func(w *writer) error {
		if err := w.put(keyFor(c.ServerURL), c, data, parts); err != nil {
			return fmt.Errorf("store %s: %w", c.ServerURL, err)
		}
		return nil
	})
}

// Erase removes the credential of query's registry, under whichever
// spelling it was stored, with every chunk set of it. Erasing a registry
// that is not stored succeeds and changes nothing.
func (s *Store) Erase(ctx context.Context, query string) error {
	if err := ValidateServerURL(query); err != nil {
		return err
	}
	return s.write(ctx, func(w *writer) error {
		if err := w.erase(keyFor(query)); err != nil {
			return fmt.Errorf("erase %s: %w", query, err)
		}
		return nil
	})
}

// List returns server → username for every stored credential, never nil.
//
// It answers from the index when the index is true at the keyring's list
// stamp: a random value that every write changing what list shows replaces,
// before and after its keyring writes. Any other index — missing, corrupt,
// from before version 2, written by a process that died mid-way, or simply
// not updated because another config directory's regcred wrote to the same
// keyring — is rebuilt from the keyring first: by enumerating it where the
// backend can (Secret Service, Windows Credential Manager), otherwise by
// re-reading each registry the index names (macOS Keychain). So list costs a
// stamp read and the index in the usual case.
func (s *Store) List(ctx context.Context) (map[string]string, error) {
	data, err := os.ReadFile(s.IndexPath())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read index: %w", err)
	}
	stamp, err := s.cfg.Keyring.Stamp(ctx)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if out, ok := listIfCurrent(data, stamp); ok {
		return out, nil
	}
	var out map[string]string
	err = s.write(ctx, func(w *writer) error {
		var err error
		out, err = w.rebuild()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return out, nil
}

// write runs fn on a freshly loaded index while holding the writers' lock,
// after migrating any items a version 1 index names. fn's steps save the
// index themselves, where the write order says.
func (s *Store) write(ctx context.Context, fn func(*writer) error) error {
	if err := os.MkdirAll(s.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.cfg.Dir, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := loadIndex(s.IndexPath(), true)
	if err != nil {
		return err
	}
	w := &writer{s: s, ctx: ctx, idx: idx}
	if len(idx.legacy) > 0 {
		if err := w.migrate(idx.legacy); err != nil {
			return err
		}
		idx.legacy, idx.Stamp = nil, ""
		if err := w.saveIndex(); err != nil {
			return err
		}
	}
	return fn(w)
}

// writer carries one locked write sequence.
type writer struct {
	s   *Store
	ctx context.Context
	idx *index
	// Set by readCurrent: whether the index was true at the keyring's
	// stamp before this write; and the stamp this write last set.
	wasCurrent bool
	ourStamp   string
	// dirty says the index changed in memory since it was last saved.
	dirty bool
}

// readCurrent learns what the item being replaced holds (not its secret):
// nil when there is none; an item with neither record nor head when it does
// not decode (it is then simply overwritten or deleted). While the index is
// current at the keyring's stamp it answers; otherwise the keyring does.
func (w *writer) readCurrent(key string) (*item, error) {
	stamp, err := w.s.cfg.Keyring.Stamp(w.ctx)
	if err != nil {
		return nil, err
	}
	if w.wasCurrent = w.idx.current(stamp); w.wasCurrent {
		if e := w.idx.Registries[key]; e != nil && e.Server != "" {
			return e.item(), nil
		}
		return nil, nil
	}
	it, err := w.s.readItem(w.ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case errors.Is(err, errCorruptItem):
		return &item{}, nil
	case err != nil:
		return nil, err
	}
	return &it, nil
}

// put runs the store sequence (see the package comment).
func (w *writer) put(key string, c Credential, data []byte, parts [][]byte) error {
	cur, err := w.readCurrent(key)
	if err != nil {
		return err
	}
	listed := cur == nil || cur.version() != recordVersion || cur.server() != c.ServerURL || cur.user() != c.Username
	if listed {
		if err := w.invalidate(); err != nil {
			return err
		}
	}
	replaced := w.recordReplaced(key, cur)
	payload := string(data)
	var head *chunkHead
	switch {
	case parts == nil && replaced:
		w.s.fault("put:index-replaced")
		if err := w.saveIndex(); err != nil {
			return err
		}
	case parts != nil: // writeChunks saves the index, the replaced set too
		if head, err = newHead(c.ServerURL, c.Username, data, len(parts)); err != nil {
			return err
		}
		if err := w.writeChunks(key, head, parts); err != nil {
			return err
		}
		h, err := json.Marshal(head)
		if err != nil {
			return fmt.Errorf("encode chunk head: %w", err)
		}
		payload = string(h)
	}
	if err := w.switchOver(key, payload, head); err != nil {
		return err
	}
	if err := w.deleteReplaced(key, cur, head); err != nil {
		return fmt.Errorf("remove replaced chunks: %w", err)
	}
	now := entry{Server: c.ServerURL, Username: c.Username}
	if head != nil {
		now.Live, now.LiveN = head.G, head.N
	}
	if !w.idx.Registries[key].same(now) {
		w.idx.setCredential(key, now)
		w.dirty = true
	}
	return w.finish(listed)
}

// erase runs the erase sequence (see the package comment).
func (w *writer) erase(key string) error {
	cur, err := w.readCurrent(key)
	if err != nil {
		return err
	}
	if cur != nil {
		if err := w.invalidate(); err != nil {
			return err
		}
		if w.recordReplaced(key, cur) {
			w.s.fault("erase:index-replaced")
			if err := w.saveIndex(); err != nil {
				return err
			}
		}
		w.s.fault("erase:item")
		if err := w.s.cfg.Keyring.Delete(w.ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if err := w.deleteReplaced(key, cur, nil); err != nil {
		return err
	}
	if _, ok := w.idx.Registries[key]; ok {
		w.idx.forget(key)
		w.dirty = true
	}
	return w.finish(cur != nil)
}

// invalidate marks every cache of what list shows as out of date, in this
// and every other config directory, before a write that changes it: it sets
// a fresh keyring stamp.
func (w *writer) invalidate() error { return w.setStamp("stamp:before") }

// setStamp writes a fresh keyring stamp.
func (w *writer) setStamp(step string) error {
	fresh, err := randomHex()
	if err != nil {
		return fmt.Errorf("list stamp: %w", err)
	}
	w.s.fault(step)
	if err := w.s.cfg.Keyring.SetStamp(w.ctx, fresh); err != nil {
		return err
	}
	w.ourStamp = fresh
	return nil
}

// recordReplaced records the chunk set of the item being replaced as
// unfinished, in memory, and reports whether there was one. Until the
// switch-over its head points at it, so nothing deletes it; once the
// switch-over has happened — even one abandoned at a time-out that lands
// later — it is deleted by whichever write of the registry comes next.
func (w *writer) recordReplaced(key string, cur *item) bool {
	if cur == nil || cur.head == nil {
		return false
	}
	w.idx.recordChunks(key, cur.head.G, cur.head.N)
	return true
}

// writeChunks records a new chunk set as unfinished in the index, then
// writes its chunks. On failure it removes what it wrote (see abandon).
func (w *writer) writeChunks(key string, head *chunkHead, parts [][]byte) error {
	w.idx.recordChunks(key, head.G, head.N)
	w.s.fault("put:index-chunks")
	if err := w.saveIndex(); err != nil {
		w.idx.dropChunks(key, head.G)
		return err
	}
	for i, p := range parts {
		w.s.fault("put:chunk")
		if err := w.s.cfg.Keyring.Set(w.ctx, chunkName(head.G, i+1), string(p)); err != nil {
			w.abandon(key, head, err)
			return err
		}
	}
	return nil
}

// switchOver writes the credential item: from here on get returns the new
// credential.
func (w *writer) switchOver(key, payload string, head *chunkHead) error {
	w.s.fault("put:item")
	err := w.s.cfg.Keyring.Set(w.ctx, key, payload)
	if err != nil && head != nil {
		w.abandon(key, head, err)
	}
	return err
}

// abandon cleans up after a failed write of a new chunk set. A keyring call
// that timed out may still complete later — a chunk after we deleted it, or
// the head after we gave up — so then nothing is deleted and the set stays
// recorded as unfinished: the next write of the registry deletes it unless
// a head points at it by then. Otherwise its chunks are deleted, best effort.
func (w *writer) abandon(key string, head *chunkHead, cause error) {
	if errors.Is(cause, ErrKeyringTimeout) {
		return
	}
	if w.deleteSet(head.G, head.N) == nil {
		w.idx.dropChunks(key, head.G)
		_ = w.saveIndex()
	}
}

// deleteReplaced deletes every chunk set of key other than the live one:
// the replaced item's set and any the index records as unfinished.
func (w *writer) deleteReplaced(key string, cur *item, live *chunkHead) error {
	sets := w.idx.unfinished(key)
	if sets == nil {
		sets = map[string]int{}
	}
	if cur != nil && cur.head != nil {
		sets[cur.head.G] = cur.head.N
	}
	if live != nil {
		delete(sets, live.G)
		w.idx.dropChunks(key, live.G) // live now, no longer unfinished
		w.dirty = true
	}
	for _, g := range slices.Sorted(maps.Keys(sets)) {
		if err := w.deleteSet(g, sets[g]); err != nil {
			return err
		}
		if _, ok := w.idx.unfinished(key)[g]; ok {
			w.idx.dropChunks(key, g)
			w.dirty = true
		}
	}
	return nil
}

// deleteSet deletes the chunk items of one chunk set.
func (w *writer) deleteSet(gen string, n int) error {
	for i := 1; i <= n; i++ {
		w.s.fault("delete:chunk")
		if err := w.s.cfg.Keyring.Delete(w.ctx, chunkName(gen, i)); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// finish ends a write: when it changed what list shows, it sets a fresh
// stamp again — so a cache rebuilt while the write was under way is out of
// date too — and the index is current at that stamp if it was current
// before and no other writer's stamp came in between. Then it saves the
// index if anything in it changed.
func (w *writer) finish(listed bool) error {
	if listed {
		now, err := w.s.cfg.Keyring.Stamp(w.ctx)
		if err != nil {
			return err
		}
		current := w.wasCurrent && now == w.ourStamp
		if err := w.setStamp("stamp:after"); err != nil {
			return err
		}
		w.idx.Stamp = ""
		if current {
			w.idx.Stamp = w.ourStamp
		}
		w.dirty = true
	}
	if !w.dirty {
		return nil
	}
	w.s.fault("index")
	return w.saveIndex()
}

// saveIndex writes the index file.
func (w *writer) saveIndex() error {
	if err := w.idx.save(w.s.IndexPath()); err != nil {
		return err
	}
	w.dirty = false
	return nil
}

// rebuild makes the index true at the keyring's stamp again, from the
// keyring, and returns what list shows.
func (w *writer) rebuild() (map[string]string, error) {
	stamp, err := w.s.cfg.Keyring.Stamp(w.ctx)
	if err != nil {
		return nil, err
	}
	if w.idx.current(stamp) { // another process rebuilt it meanwhile
		return w.idx.list(), nil
	}
	if stamp == "" {
		if err := w.setStamp("stamp:rebuild"); err != nil {
			return nil, err
		}
		stamp = w.ourStamp
	}
	// The stamp is read before the keyring is: a write that lands during
	// the scan sets a new stamp after it, so this index is then out of date.
	v, err := w.s.scan(w.ctx, w.idx)
	if err != nil {
		return nil, err
	}
	if len(v.legacy) > 0 {
		if err := w.migrate(v.legacy); err != nil {
			return nil, err
		}
		if v, err = w.s.scan(w.ctx, w.idx); err != nil {
			return nil, err
		}
	}
	for key, e := range w.idx.Registries {
		if _, ok := v.creds[key]; !ok && e.Server != "" {
			w.idx.forget(key)
		}
	}
	for key, c := range v.creds {
		w.idx.setCredential(key, c)
	}
	w.idx.Stamp = stamp
	w.idx.err = nil
	if err := w.saveIndex(); err != nil {
		return nil, err
	}
	return w.idx.list(), nil
}

// migrate rewrites credentials stored before version 2 — named by the
// address as typed, or holding no address — as version 2 items under their
// canonical name, then deletes the old items: the new item is written first,
// so get finds one or the other throughout. A version 2 item already under
// the canonical name is newer and wins.
func (w *writer) migrate(accounts []string) error {
	for _, account := range accounts {
		old, err := w.s.readItem(w.ctx, account)
		if errors.Is(err, ErrNotFound) || errors.Is(err, errCorruptItem) {
			continue
		}
		if err != nil {
			return fmt.Errorf("migrate %s: %w", account, err)
		}
		key := keyFor(account)
		if old.version() == recordVersion && account == key {
			continue
		}
		rec, _, err := w.s.readCredential(w.ctx, account)
		if err != nil {
			continue // unreadable: doctor reports it
		}
		cur, err := w.readCurrent(key)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", account, err)
		}
		if account == key || cur == nil || cur.version() != recordVersion {
			data, err := encodeRecord(rec.A, rec.U, rec.S)
			if err != nil {
				return err
			}
			var parts [][]byte
			if len(data) > w.s.cfg.ItemLimit {
				parts = splitChunks(data, w.s.cfg.ItemLimit)
			}
			if err := w.put(key, Credential{ServerURL: rec.A, Username: rec.U, Secret: rec.S}, data, parts); err != nil {
				return fmt.Errorf("migrate %s: %w", account, err)
			}
		}
		if account != key {
			if err := w.s.cfg.Keyring.Delete(w.ctx, account); err != nil && !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("migrate %s: %w", account, err)
			}
			if old.head != nil {
				if err := w.deleteSet(old.head.G, old.head.N); err != nil {
					return fmt.Errorf("migrate %s: %w", account, err)
				}
			}
		}
	}
	return nil
}

// view is the keyring's content as scan found it.
type view struct {
	// creds maps each canonical address to what its item holds (no secret).
	creds map[string]entry
	// live maps each chunk generation a head points at to its count.
	live map[string]int
	// chunks lists every chunk item; nil where the keyring cannot be enumerated.
	chunks []string
	// legacy lists items to migrate; corrupt, items that do not decode.
	legacy, corrupt []string
	// enumerated says whether the keyring's items could be listed.
	enumerated bool
}

// scan reads what the keyring holds: every item where the backend can
// enumerate, otherwise the items of every registry idx names.
func (s *Store) scan(ctx context.Context, idx *index) (view, error) {
	v := view{creds: map[string]entry{}, live: map[string]int{}}
	items, err := s.cfg.Keyring.Items(ctx)
	switch {
	case err == nil:
		v.enumerated = true
	case errors.Is(err, errors.ErrUnsupported):
		items = map[string]string{}
		for key := range idx.Registries {
			data, err := s.cfg.Keyring.Get(ctx, key)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return view{}, err
			}
			items[key] = data
		}
		for _, server := range idx.legacy {
			if data, err := s.cfg.Keyring.Get(ctx, server); err == nil {
				items[server] = data
			}
		}
	default:
		return view{}, err
	}
	for _, account := range slices.Sorted(maps.Keys(items)) {
		if _, ok := chunkGen(account); ok {
			v.chunks = append(v.chunks, account)
			continue
		}
		if account == stampAccount || ValidateServerURL(account) != nil {
			continue // not a credential of ours
		}
		it, err := decodeItem(items[account])
		if err != nil {
			v.corrupt = append(v.corrupt, account)
			continue
		}
		if it.head != nil {
			v.live[it.head.G] = it.head.N
		}
		if it.version() != recordVersion || account != keyFor(account) || keyFor(it.server()) != account {
			v.legacy = append(v.legacy, account)
			continue
		}
		v.creds[account] = entryOf(it)
	}
	return v, nil
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
	cfg.Keyring = NewOSKeyring(cfg.Timeout)
	return cfg, nil
}
