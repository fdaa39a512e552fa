package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regcred/regcred/store/keyring"
)

// newMemStore is a Store on k with a lock and legacy index of the test's own.
func newMemStore(t *testing.T, k keyring.Keyring, limit int) *Store {
	t.Helper()
	dir := t.TempDir()
	st, err := New(Config{Keyring: k, LockPath: filepath.Join(dir, "lock"), ItemLimit: limit, LegacyIndex: filepath.Join(dir, "index.json")})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestEraseDeletesWhatListDoesNotShow (review point 1): on a keyring that
// cannot enumerate, list answers from a cache of what this machine stored;
// erase must still delete the item when that cache lost the registry (a
// second machine, a second cache dir, a lost file) — so that docker logout
// never reports success while get keeps handing the credential out.
func TestEraseDeletesWhatListDoesNotShow(t *testing.T) {
	ctx := context.Background()
	k := keyring.NewMemory()
	k.NoList = true
	here := &keyring.ListCache{Keyring: k, Path: filepath.Join(t.TempDir(), "list.json")}
	if err := newMemStore(t, here, 0).Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	elsewhere := &keyring.ListCache{Keyring: k, Path: filepath.Join(t.TempDir(), "list.json")}
	st := newMemStore(t, elsewhere, 0)
	if list, err := st.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List from an empty cache = %v, %v", list, err)
	}
	if err := st.Erase(ctx, "R.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "r.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after erase = %v, want not found", err)
	}
	if items := k.Snapshot(); len(items) != 0 {
		t.Errorf("erase left %q in the keyring", items)
	}
	// The first cache still names it: doctor reports it gone, --fix forgets it.
	st = newMemStore(t, here, 0)
	r, err := st.Check(ctx)
	if err != nil || !r.Cached || len(r.Gone) != 1 {
		t.Fatalf("Check = %+v, %v; want one gone registry", r, err)
	}
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if list, err := st.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("List after repair = %v, %v", list, err)
	}
}

// TestListCache: list on a keyring that cannot enumerate shows what was
// stored through the cache, follows erases and re-logins, and a broken
// cache file fails list in one line that names the fix, while get, store
// and erase keep working (and replace the broken file).
func TestListCache(t *testing.T) {
	ctx := context.Background()
	k := keyring.NewMemory()
	k.NoList = true
	c := &keyring.ListCache{Keyring: k, Path: filepath.Join(t.TempDir(), "regcred", "list.json")}
	st := newMemStore(t, c, 512)
	for _, cr := range []Credential{
		{ServerURL: "a.example", Username: "a", Secret: "1"},
		{ServerURL: "B.example", Username: "b", Secret: strings.Repeat("2", 2000)}, // chunked: chunks are not listed
		{ServerURL: "b.example", Username: "b2", Secret: "3"},
	} {
		if err := st.Put(ctx, cr); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Erase(ctx, "A.EXAMPLE"); err != nil {
		t.Fatal(err)
	}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, map[string]string{"b.example": "b2"}) {
		t.Errorf("List = %v, %v", list, err)
	}
	if info, err := os.Stat(c.Path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("cache file: %v, %v; want mode 0600", info, err)
	}
	if err := os.WriteFile(c.Path, []byte("{broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := st.List(ctx)
	if err == nil || !strings.Contains(err.Error(), "remove it") || strings.Contains(err.Error(), "\n") {
		t.Errorf("List with a broken cache = %v, want one line naming the fix", err)
	}
	if got, err := st.Get(ctx, "b.example"); err != nil || got.Secret != "3" {
		t.Errorf("Get with a broken cache = %+v, %v", got, err)
	}
	if err := st.Put(ctx, Credential{ServerURL: "c.example", Username: "c", Secret: "4"}); err != nil {
		t.Errorf("Put with a broken cache: %v", err)
	}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, map[string]string{"c.example": "c"}) {
		t.Errorf("List after the store replaced the broken cache = %v, %v", list, err)
	}
}

// TestMigrationOnCaseInsensitiveKeyring (review point 2): on Windows,
// Credential Manager names are case-insensitive, so a version 1 item
// "Reg.Example.com" and its canonical name "reg.example.com" are one item:
// migration rewrites it in place and must not then delete it.
func TestMigrationOnCaseInsensitiveKeyring(t *testing.T) {
	ctx := context.Background()
	for _, caseInsensitive := range []bool{true, false} {
		k := keyring.NewMemory()
		k.CaseInsensitive = caseInsensitive
		if err := k.Set(ctx, "Reg.Example.com", keyring.Label{}, `{"v":1,"u":"alice","s":"pw"}`); err != nil {
			t.Fatal(err)
		}
		st := newMemStore(t, k, 0)
		if err := os.WriteFile(st.cfg.LegacyIndex, []byte("regcred-index 1\nReg.Example.com \"alice\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		// Any write migrates first (so does a get that finds nothing).
		if err := st.Put(ctx, Credential{ServerURL: "other.example", Username: "o", Secret: "o"}); err != nil {
			t.Fatal(err)
		}
		got, err := st.Get(ctx, "reg.example.com")
		if err != nil || got != (Credential{ServerURL: "Reg.Example.com", Username: "alice", Secret: "pw"}) {
			t.Errorf("case-insensitive %v: Get = %+v, %v", caseInsensitive, got, err)
		}
		want := map[string]string{"Reg.Example.com": "alice", "other.example": "o"}
		if list, err := st.List(ctx); err != nil || !maps.Equal(list, want) {
			t.Errorf("case-insensitive %v: List = %v, %v", caseInsensitive, list, err)
		}
		items := k.Snapshot()
		delete(items, "other.example")
		if len(items) != 1 || (ItemFormat{}).LabelOf(items[keyOf(items)]) != (keyring.Label{Server: "Reg.Example.com", User: "alice"}) {
			t.Errorf("case-insensitive %v: items after migration = %q", caseInsensitive, items)
		}
		if _, err := os.Stat(st.cfg.LegacyIndex); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("case-insensitive %v: the old index survived: %v", caseInsensitive, err)
		}
	}
}

// keyOf is the one key of a one-item map.
func keyOf(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

// TestChunkedGetSurvivesRewrites (review point 8): a reader of a chunked
// credential whose chunks are replaced under it, again and again, reads
// the item again while it keeps changing, and returns a whole credential —
// never "chunk missing" and never a mix.
func TestChunkedGetSurvivesRewrites(t *testing.T) {
	ctx := context.Background()
	k := keyring.NewMemory()
	writer := newMemStore(t, k, 300)
	reader := &Store{cfg: writer.cfg}
	secret := func(i int) string { return strings.Repeat(string(rune('a'+i)), 1000) }
	if err := writer.Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: secret(0)}); err != nil {
		t.Fatal(err)
	}
	var rewrites atomic.Int32
	var writing atomic.Bool
	const times = 3
	k.OnGet = func(account string) {
		// On the reader's first chunk read, each time: another process
		// stores anew (its own reads do not count).
		if strings.HasSuffix(account, ":1") && strings.HasPrefix(account, chunkPrefix) && rewrites.Load() < times && writing.CompareAndSwap(false, true) {
			defer writing.Store(false)
			n := rewrites.Add(1)
			if err := writer.Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: secret(int(n))}); err != nil {
				t.Error(err)
			}
		}
	}
	got, err := reader.Get(ctx, "r.example")
	k.OnGet = nil
	if err != nil {
		t.Fatalf("Get during %d rewrites: %v", rewrites.Load(), err)
	}
	if rewrites.Load() != times {
		t.Fatalf("%d rewrites happened during the read, want %d", rewrites.Load(), times)
	}
	if got.Secret != secret(times) {
		t.Errorf("Get = %.3q…, want the last write's", got.Secret)
	}
}

// TestChunkedGetDuringLogout: a reader of a chunked credential that is
// erased while its chunks are read says "not found", as a get after the
// logout would; it once decoded the missing item as "corrupt" (an error a
// docker pull racing a docker logout printed).
func TestChunkedGetDuringLogout(t *testing.T) {
	ctx := context.Background()
	k := keyring.NewMemory()
	writer := newMemStore(t, k, 300)
	reader := &Store{cfg: writer.cfg}
	if err := writer.Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: strings.Repeat("s", 1000)}); err != nil {
		t.Fatal(err)
	}
	var erased atomic.Bool
	k.OnGet = func(account string) {
		if strings.HasPrefix(account, chunkPrefix) && erased.CompareAndSwap(false, true) {
			if err := writer.Erase(ctx, "r.example"); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := reader.Get(ctx, "r.example")
	k.OnGet = nil
	if !erased.Load() {
		t.Fatal("the erase never ran during the read")
	}
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get during an erase = %v, want not found", err)
	}
}

// faultAt is a keyring whose Delete of the account "stop" names fails, as
// a process killed there would leave it; and whose Gets of accounts
// failing says fail with err (a time-out, a locked keyring).
type faultAt struct {
	*keyring.Memory
	stop string
	fail func(account string) bool
	err  error
}

var errKilled = errors.New("killed")

func (k *faultAt) Delete(ctx context.Context, account string) error {
	if account == k.stop {
		return errKilled
	}
	return k.Memory.Delete(ctx, account)
}

func (k *faultAt) Get(ctx context.Context, account string) (string, error) {
	if k.fail != nil && k.fail(account) {
		return "", k.err
	}
	return k.Memory.Get(ctx, account)
}

// TestInterruptedEraseLeavesNoOrphans (issue 28, point 7): an erase of a
// chunked credential killed at any delete leaves nothing the credential's
// item does not name — it left every chunk, the whole secret, behind an
// item already deleted, where a list cache hid them even from doctor.
// The item is marked before the first delete: then get and list find no
// credential, doctor reports an interrupted erase (on a keyring listed
// from a cache too) and doctor --fix finishes it.
func TestInterruptedEraseLeavesNoOrphans(t *testing.T) {
	ctx := context.Background()
	secret := strings.Repeat("0123456789", 100) // 4 chunks at 300 bytes
	key := keyFor("r.example")
	for _, cached := range []bool{false, true} {
		// Chunks go last first (chunkName(…, 4) is the first delete), the item last.
		// Each after the mark.
		for i, stop := range []string{chunkName(key, slots[0], 4), chunkName(key, slots[0], 3), chunkName(key, slots[0], 1), key} {
			t.Run(fmt.Sprintf("cached %v, killed at delete %d", cached, i+1), func(t *testing.T) {
				mem := keyring.NewMemory()
				k := &faultAt{Memory: mem}
				var kr keyring.Keyring = k
				if cached {
					mem.NoList = true
					kr = &keyring.ListCache{Keyring: k, Path: filepath.Join(t.TempDir(), "list.json")}
				}
				st := newMemStore(t, kr, 300)
				if err := st.Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: secret}); err != nil {
					t.Fatal(err)
				}
				if n := len(mem.Snapshot()); n != 5 {
					t.Fatalf("%d items; want the item and 4 chunks", n)
				}
				k.stop = stop
				if err := st.Erase(ctx, "r.example"); !errors.Is(err, errKilled) {
					t.Fatalf("Erase = %v; want it killed", err)
				}
				k.stop = ""
				if _, ok := mem.Snapshot()[key]; !ok {
					t.Fatalf("the item went before its chunks: %q are left, named by nothing", slices.Sorted(maps.Keys(mem.Snapshot())))
				}
				if _, err := st.Get(ctx, "r.example"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after the interrupted erase = %v; want not found", err)
				}
				if l, err := st.List(ctx); err != nil || len(l) != 0 {
					t.Errorf("List after the interrupted erase = %v, %v; want it to agree with get", l, err)
				}
				r, err := st.Check(ctx)
				if err != nil || len(r.Erasing) != 1 || len(r.Corrupt) != 0 {
					t.Fatalf("Check = %q, %v; want one interrupted erase", r.Problems(), err)
				}
				if _, err := st.Repair(ctx); err != nil {
					t.Fatal(err)
				}
				if items := mem.Snapshot(); len(items) != 0 {
					t.Errorf("after doctor --fix the keyring holds %q", slices.Sorted(maps.Keys(items)))
				}
			})
		}
	}
}

// TestUnreadableLegacyIndex (issue 28, point 8): an older version's index
// that is there but cannot be read (a root-owned file from an old sudo
// run; here a directory, which root cannot read either) holds up no store,
// erase or not-found get; doctor names it.
func TestUnreadableLegacyIndex(t *testing.T) {
	ctx := context.Background()
	st := newMemStore(t, keyring.NewMemory(), 0)
	if err := os.Mkdir(st.cfg.LegacyIndex, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, Credential{ServerURL: "r.example", Username: "u", Secret: "s"}); err != nil {
		t.Errorf("Put = %v", err)
	}
	if _, err := st.Get(ctx, "public.example"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of a registry never stored = %v; want not found (a public image's pull)", err)
	}
	if err := st.Erase(ctx, "r.example"); err != nil {
		t.Errorf("Erase = %v", err)
	}
	r, err := st.Check(ctx)
	if err != nil || r.UnreadableIndex != st.cfg.LegacyIndex || r.OldIndex {
		t.Errorf("Check = %q, %v; want the unreadable index named", r.Problems(), err)
	}
}

// TestLegacyIndexOnlyOnTheSecretService (issue 28, point 9): older versions
// kept their items, and their index, in the Secret Service only; a store
// opened on any other keyring neither migrates from nor removes it.
func TestLegacyIndexOnlyOnTheSecretService(t *testing.T) {
	config := t.TempDir()
	getenv := func(k string) string {
		return map[string]string{"XDG_CONFIG_HOME": config, "XDG_RUNTIME_DIR": config}[k]
	}
	for i, name := range keyring.Names() {
		o, err := OpenNamed(context.Background(), Env{Getenv: getenv}, name)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := o.Store.cfg.LegacyIndex != "", i == 0; got != want {
			t.Errorf("on the %s the store uses the old index: %v; want %v", name, got, want)
		}
	}
	// Without the index, a write leaves the file as it is.
	k := keyring.NewMemory()
	st := newMemStore(t, k, 0)
	index := st.cfg.LegacyIndex
	st.cfg.LegacyIndex = ""
	if err := os.WriteFile(index, []byte("regcred-index 1\nold.example \"u\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx(), Credential{ServerURL: "r.example", Username: "u", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(index); err != nil {
		t.Errorf("the old index is gone: %v", err)
	}
}

func ctx() context.Context { return context.Background() }

// TestTransientErrorsAreNotCorruption (issue 28, point 12): a chunk read
// that times out says so: migration keeps the old index for next time (it
// skipped the item and deleted the index), doctor reports the error (it
// called the credential corrupt and advised erasing it), and list fails
// (it dropped the registry).
func TestTransientErrorsAreNotCorruption(t *testing.T) {
	c := context.Background()
	mem := keyring.NewMemory()
	k := &faultAt{Memory: mem, err: keyring.ErrKeyringTimeout}
	st := newMemStore(t, k, 300)
	if err := st.Put(c, Credential{ServerURL: "r.example", Username: "u", Secret: strings.Repeat("s", 1000)}); err != nil {
		t.Fatal(err)
	}
	// An older version's item, whose label this version does not write,
	// so that list reads the item and its chunks; and its index.
	data := mem.Snapshot()[keyFor("r.example")]
	if err := mem.Set(c, keyFor("r.example"), keyring.Label{}, data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.cfg.LegacyIndex, []byte("regcred-index 2 x\nr.example \"u\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.fail = func(account string) bool { return strings.HasPrefix(account, chunkPrefix) }
	if err := st.Put(c, Credential{ServerURL: "other.example", Username: "o", Secret: "o"}); !errors.Is(err, keyring.ErrKeyringTimeout) {
		t.Errorf("a write whose migration timed out = %v; want the time-out", err)
	}
	if _, err := os.Stat(st.cfg.LegacyIndex); err != nil {
		t.Errorf("migration that timed out removed the old index: %v", err)
	}
	if r, err := st.Check(c); !errors.Is(err, keyring.ErrKeyringTimeout) {
		t.Errorf("Check = %q, %v; want the time-out, not a corrupt credential", r.Problems(), err)
	}
	if l, err := st.List(c); !errors.Is(err, keyring.ErrKeyringTimeout) {
		t.Errorf("List = %v, %v; want the time-out, not the registry dropped", l, err)
	}
	k.fail = nil
	if err := st.Put(c, Credential{ServerURL: "other.example", Username: "o", Secret: "o"}); err != nil {
		t.Fatal(err)
	}
	if l, err := st.List(c); err != nil || l["r.example"] != "u" {
		t.Errorf("List once the keyring answers = %v, %v", l, err)
	}
}

// TestFaultMarksWritesOnly: Config.Fault names each write a writer makes,
// before it makes it, and hides nothing else the keyring implements —
// Check still sees a list cache.
func TestFaultMarksWritesOnly(t *testing.T) {
	ctx := context.Background()
	k := keyring.NewMemory()
	k.NoList = true
	var steps []string
	dir := t.TempDir()
	st, err := New(Config{
		Keyring:  &keyring.ListCache{Keyring: k, Path: filepath.Join(dir, "list.json")},
		LockPath: filepath.Join(dir, "lock"), ItemLimit: 512,
		Fault: func(step string) { steps = append(steps, fmt.Sprintf("%s@%d", step, k.Sets())) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		op   func() error
		want []string // each step, with the keyring's Set count when it was called
	}{
		{"store", func() error { return st.Put(ctx, Credential{ServerURL: "a.example", Username: "a", Secret: "s"}) }, []string{"item@0"}},
		{"get", func() error { _, err := st.Get(ctx, "a.example"); return err }, nil},
		{"store chunked", func() error {
			return st.Put(ctx, Credential{ServerURL: "a.example", Username: "a", Secret: strings.Repeat("x", 700)})
		}, []string{"chunk@1", "chunk@2", "item@3"}},
		{"erase", func() error { return st.Erase(ctx, "a.example") }, []string{"item@4", "delete chunk@5", "delete chunk@5", "item@5"}},
	} {
		steps = nil
		if err := tt.op(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(steps, tt.want) {
			t.Errorf("%s: steps %v, want %v", tt.name, steps, tt.want)
		}
	}
	if r, err := st.Check(ctx); err != nil || !r.Cached {
		t.Errorf("Check = %+v, %v: want it to see the list cache", r, err)
	}
}
