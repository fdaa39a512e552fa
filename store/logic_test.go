package store

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
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
