package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regcred/regcred/internal/testenv"
	"github.com/regcred/regcred/store"
)

// fixture is a Store on a private gnome-keyring.
type fixture struct {
	t       *testing.T
	session *testenv.Session
	dir     string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := testenv.StartSessionT(t, testenv.Unlocked)
	// The OS keyring is reached through the process environment, as in
	// production: point this test process at the private bus.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", s.Address)
	return &fixture{t: t, session: s, dir: t.TempDir()}
}

func (f *fixture) store(limit int, fault func(string)) *store.Store {
	f.t.Helper()
	st, err := store.New(store.Config{
		Dir:       f.dir,
		ItemLimit: limit,
		Keyring:   store.OSKeyring{Timeout: 10 * time.Second},
		Fault:     fault,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// items lists every account in the keyring under the regcred service.
func (f *fixture) items() []string {
	f.t.Helper()
	items, err := f.session.Items(store.Service)
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

// checkAccounted fails if the keyring holds a chunk item that no head
// points at and no unfinished store records: the invariant the order of
// writes exists to keep. (Every other item is a credential by its name.)
func (f *fixture) checkAccounted(st *store.Store) {
	f.t.Helper()
	r, err := st.Check(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if r.Orphans > 0 || len(r.Corrupt) > 0 || len(r.Legacy) > 0 {
		f.t.Errorf("keyring holds items nothing accounts for: %q", r.Problems())
	}
}

func TestStoreRoundTripOnKeyring(t *testing.T) {
	f := newFixture(t)
	st := f.store(0, nil)
	ctx := context.Background()
	want := store.Credential{ServerURL: "https://index.docker.io/v1/", Username: "alice", Secret: "s3cret"}
	if err := st.Put(ctx, want); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"} {
		got, err := st.Get(ctx, q)
		if err != nil || got != want {
			t.Errorf("Get(%q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	if items := f.items(); !slices.Equal(items, []string{"docker.io"}) {
		t.Errorf("keyring items = %q, want exactly one item, named by the canonical address", items)
	}
	if err := st.Erase(ctx, want.ServerURL); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, want.ServerURL); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after erase Get = %v, want ErrNotFound", err)
	}
	if items := f.items(); len(items) != 0 {
		t.Errorf("after erase the keyring still holds %q", items)
	}
}

func TestStoreChunking(t *testing.T) {
	f := newFixture(t)
	st := f.store(512, nil)
	ctx := context.Background()
	big := strings.Repeat("0123456789abcdef€", 6<<10/18+1) // over 6 KiB, with multi-byte runes
	server := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"

	steps := []struct {
		name       string
		secret     string
		wantChunks bool
	}{
		{"large", big, true},
		{"larger", big + big, true},
		{"small replaces large", "tiny", false},
		{"large again", big, true},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := st.Put(ctx, store.Credential{ServerURL: server, Username: "AWS", Secret: step.secret}); err != nil {
				t.Fatal(err)
			}
			got, err := st.Get(ctx, server)
			if err != nil || got.Secret != step.secret || got.Username != "AWS" {
				t.Fatalf("Get = %q/%d bytes, %v; want AWS/%d bytes", got.Username, len(got.Secret), err, len(step.secret))
			}
			items := f.items()
			chunks := 0
			for _, it := range items {
				if strings.HasPrefix(it, "regcred-chunk:") {
					chunks++
				}
			}
			wantChunks := 0
			if step.wantChunks {
				wantChunks = (len(step.secret) + 40) / 512 // at least this many
			}
			if step.wantChunks && chunks < wantChunks || !step.wantChunks && chunks != 0 {
				t.Errorf("%d chunk items after storing %d bytes (items %d)", chunks, len(step.secret), len(items))
			}
			f.checkAccounted(st)
		})
	}
	if err := st.Erase(ctx, server); err != nil {
		t.Fatal(err)
	}
	if items := f.items(); len(items) != 0 {
		t.Errorf("erase left %d items: %q", len(items), items)
	}
}

func TestStoreReplacesEquivalentSpellings(t *testing.T) {
	f := newFixture(t)
	st := f.store(0, nil)
	ctx := context.Background()
	if err := st.Put(ctx, store.Credential{ServerURL: "https://r.example:5000", Username: "old", Secret: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, store.Credential{ServerURL: "r.example:5000", Username: "new", Secret: "2"}); err != nil {
		t.Fatal(err)
	}
	list, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"r.example:5000": "new"}; !maps.Equal(list, want) {
		t.Errorf("List = %v, want %v", list, want)
	}
	if items := f.items(); !slices.Equal(items, []string{"r.example:5000"}) {
		t.Errorf("items = %q", items)
	}
	if err := st.Erase(ctx, "http://R.EXAMPLE:5000/"); err != nil {
		t.Fatal(err)
	}
	if list, _ := st.List(ctx); len(list) != 0 {
		t.Errorf("erase by equivalent spelling left %v", list)
	}
}

// crash stops a store operation at a fault point, as a kill would.
type crash struct{ step string }

// TestStoreWriteOrder interrupts store and erase at every write step and
// checks what the package comment promises: no keyring item the index does
// not account for, and get answering the old or the new credential (or, for
// an entry being created or erased, not found), never a mix.
func TestStoreWriteOrder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	server := "crash.example"
	old := store.Credential{ServerURL: server, Username: "old", Secret: strings.Repeat("o", 1500)}
	small := store.Credential{ServerURL: server, Username: "new", Secret: "n"}
	large := store.Credential{ServerURL: server, Username: "new", Secret: strings.Repeat("n", 1500)}

	type op struct {
		name  string
		setup *store.Credential // stored before the interrupted operation
		put   *store.Credential // nil: erase
	}
	ops := []op{
		{"create small", nil, &small},
		{"create large", nil, &large},
		{"large over large", &old, &large},
		{"small over large", &old, &small},
		{"large over small", &small, &large},
		{"erase large", &old, nil},
		// A new spelling of the same registry: old or new, never neither.
		{"respell small", &store.Credential{ServerURL: "https://Crash.Example/", Username: "old", Secret: "o"}, &small},
		{"respell large", &store.Credential{ServerURL: "https://Crash.Example/", Username: "old", Secret: strings.Repeat("o", 1500)}, &large},
	}
	for _, o := range ops {
		for stop := 1; ; stop++ {
			name := fmt.Sprintf("%s/stop at write %d", o.name, stop)
			reached := false
			t.Run(name, func(t *testing.T) {
				clean := f.store(512, nil)
				_ = clean.Erase(ctx, server)
				if o.setup != nil {
					if err := clean.Put(ctx, *o.setup); err != nil {
						t.Fatal(err)
					}
				}
				n := 0
				st := f.store(512, func(step string) {
					if n++; n == stop {
						reached = true
						panic(crash{step})
					}
				})
				func() {
					defer func() {
						if r := recover(); r != nil {
							if _, ok := r.(crash); !ok {
								panic(r)
							}
						}
					}()
					var err error
					if o.put != nil {
						err = st.Put(ctx, *o.put)
					} else {
						err = st.Erase(ctx, server)
					}
					if err != nil {
						t.Fatal(err)
					}
				}()
				f.checkAccounted(clean)
				got, err := clean.Get(ctx, server)
				if other, err2 := clean.Get(ctx, "CRASH.example"); other != got || !errors.Is(err2, err) && err2 != err {
					t.Errorf("spellings disagree: %+v, %v against %+v, %v", got, err, other, err2)
				}
				switch {
				case errors.Is(err, store.ErrNotFound):
					if o.setup != nil && o.put != nil {
						t.Errorf("overwrite interrupted: the old credential is lost")
					}
				case err != nil:
					t.Errorf("Get after interruption: %v", err)
				default:
					if !(o.setup != nil && got == *o.setup) && !(o.put != nil && got == *o.put) {
						t.Errorf("Get after interruption = %q/%d bytes: neither old nor new", got.Username, len(got.Secret))
					}
					if list, err := clean.List(ctx); err != nil || len(list) != 1 || list[got.ServerURL] != got.Username {
						t.Errorf("after interruption List says %v, Get says %q as %q (%v)", list, got.Username, got.ServerURL, err)
					}
				}
				// The next operation on the entry cleans up whatever is left.
				if err := clean.Erase(ctx, server); err != nil {
					t.Fatal(err)
				}
				if items := f.items(); len(items) != 0 {
					t.Errorf("after the clean-up erase the keyring still holds %q", items)
				}
			})
			if !reached || t.Failed() {
				break
			}
		}
	}
}

// TestStoreConcurrentWriters runs many writers at once, each with its own
// lock file descriptor, and loses nothing.
func TestStoreConcurrentWriters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := f.store(0, nil)
			errs <- st.Put(ctx, store.Credential{ServerURL: fmt.Sprintf("r%d.example", i), Username: fmt.Sprintf("u%d", i), Secret: "s"})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	st := f.store(0, nil)
	list, err := st.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("List has %d entries after %d concurrent stores", len(list), n)
	}
	for i := range n {
		c, err := st.Get(ctx, fmt.Sprintf("r%d.example", i))
		if err != nil || c.Username != fmt.Sprintf("u%d", i) {
			t.Errorf("entry %d: %+v, %v", i, c, err)
		}
	}
}

func TestStoreFailedWriteChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(0, nil)
	if err := st.Put(ctx, store.Credential{ServerURL: "keep.example", Username: "u", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(st.IndexPath())
	f.session.KillKeyring()
	short, err := store.New(store.Config{Dir: f.dir, Keyring: store.OSKeyring{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	err = short.Put(ctx, store.Credential{ServerURL: "new.example", Username: "u", Secret: "s"})
	if !errors.Is(err, store.ErrNoProvider) {
		t.Errorf("Put with the keyring gone = %v, want ErrNoProvider", err)
	}
	after, _ := os.ReadFile(st.IndexPath())
	if string(before) != string(after) {
		t.Errorf("a failed store changed the index:\n%s\n->\n%s", before, after)
	}
}

// TestIndexIsOnlyACache: with the index deleted, or from another config
// directory, get, erase and list still see every credential in the keyring.
func TestIndexIsOnlyACache(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(512, nil)
	creds := []store.Credential{
		{ServerURL: "https://index.docker.io/v1/", Username: "hub", Secret: "h"},
		{ServerURL: "Big.Example:5000", Username: "aws", Secret: strings.Repeat("b", 2000)}, // chunked
		{ServerURL: "gone.example", Username: "g", Secret: "g"},
	}
	for _, c := range creds {
		if err := st.Put(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(st.IndexPath()); err != nil {
		t.Fatal(err)
	}
	other, err := store.New(store.Config{Dir: t.TempDir(), ItemLimit: 512, Keyring: store.OSKeyring{Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*store.Store{"index removed": st, "another config dir": other} {
		t.Run(name, func(t *testing.T) {
			for _, c := range creds[:2] {
				got, err := s.Get(ctx, strings.ToUpper(c.ServerURL))
				if err != nil || got != c {
					t.Errorf("Get(%q) = %+v, %v; want %+v", c.ServerURL, got, err, c)
				}
			}
			want := map[string]string{}
			for _, c := range creds {
				want[c.ServerURL] = c.Username
			}
			if list, err := s.List(ctx); err != nil || !maps.Equal(list, want) {
				t.Errorf("List = %v, %v; want %v", list, err, want)
			}
		})
	}
	// Erase from the other directory; this one's index must not keep it.
	if err := other.Erase(ctx, "GONE.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "gone.example"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after erase elsewhere = %v, want ErrNotFound", err)
	}
	if list, err := st.List(ctx); err != nil || len(list) != 2 {
		t.Errorf("List after erase elsewhere = %v, %v", list, err)
	}
	if err := os.Remove(other.IndexPath()); err != nil {
		t.Fatal(err)
	}
	for _, c := range creds[:2] {
		if err := other.Erase(ctx, c.ServerURL); err != nil {
			t.Fatal(err)
		}
	}
	if items := f.items(); len(items) != 0 {
		t.Errorf("erase without an index left %q in the keyring", items)
	}
}

// TestTwoConfigDirsAgree: one keyring written from two config directories;
// list and get agree in each of them, and doctor sees nothing wrong.
func TestTwoConfigDirsAgree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	open := func() *store.Store {
		s, err := store.New(store.Config{Dir: t.TempDir(), Keyring: store.OSKeyring{Timeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	steps := []struct {
		by   *store.Store
		cred store.Credential
	}{
		{a, store.Credential{ServerURL: "r.example", Username: "ann", Secret: "1"}},
		{b, store.Credential{ServerURL: "r.example", Username: "ben", Secret: "2"}},
		{a, store.Credential{ServerURL: "s.example", Username: "sue", Secret: "3"}},
		{b, store.Credential{ServerURL: "https://R.example/", Username: "bob", Secret: "4"}},
	}
	for i, step := range steps {
		if err := step.by.Put(ctx, step.cred); err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]*store.Store{"A": a, "B": b} {
			list, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for server, user := range list {
				got, err := s.Get(ctx, server)
				if err != nil || got.Username != user || got.ServerURL != server {
					t.Errorf("step %d, %s: list says %s is %q; get says %+v, %v", i, name, server, user, got, err)
				}
			}
			if got, _ := s.Get(ctx, "r.example"); list[got.ServerURL] != got.Username {
				t.Errorf("step %d, %s: get r.example = %q as %q, list = %v", i, name, got.Username, got.ServerURL, list)
			}
			if r, err := s.Check(ctx); err != nil || !r.OK() {
				t.Errorf("step %d, %s: doctor: %q, %v", i, name, r.Problems(), err)
			}
		}
	}
	_ = f
}

// TestCaseInsensitiveRelogin: a re-login under other letter case leaves one
// item with the new credential (on Windows, Credential Manager's target
// names are case-insensitive; see the Wine tests for the real thing).
func TestCaseRelogin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(0, nil)
	if err := st.Put(ctx, store.Credential{ServerURL: "reg.example.com", Username: "alice", Secret: "a"}); err != nil {
		t.Fatal(err)
	}
	bob := store.Credential{ServerURL: "Reg.Example.com", Username: "bob", Secret: "b"}
	if err := st.Put(ctx, bob); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"reg.example.com", "Reg.Example.com", "REG.EXAMPLE.COM"} {
		if got, err := st.Get(ctx, q); err != nil || got != bob {
			t.Errorf("Get(%q) = %+v, %v; want %+v", q, got, err, bob)
		}
	}
	if items := f.items(); !slices.Equal(items, []string{"reg.example.com"}) {
		t.Errorf("items = %q, want exactly one", items)
	}
	if list, _ := st.List(ctx); !maps.Equal(list, map[string]string{"Reg.Example.com": "bob"}) {
		t.Errorf("List = %v", list)
	}
}

// TestRepairKeepsChunkedCredential: doctor --fix after the index is lost
// must recover a split credential, not delete its chunks as orphans.
func TestRepairKeepsChunkedCredential(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(512, nil)
	big := store.Credential{ServerURL: "big.example", Username: "u", Secret: strings.Repeat("x", 3000)}
	if err := st.Put(ctx, big); err != nil {
		t.Fatal(err)
	}
	before := f.items()
	if err := os.Remove(st.IndexPath()); err != nil {
		t.Fatal(err)
	}
	r, err := st.Check(ctx)
	if err != nil || r.Orphans != 0 || !r.OK() {
		t.Errorf("Check after index loss = %+v, %v; want nothing wrong (list rebuilds the index)", r, err)
	}
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if after := f.items(); !slices.Equal(before, after) {
		t.Errorf("repair changed the keyring: %q -> %q", before, after)
	}
	if got, err := st.Get(ctx, "big.example"); err != nil || got != big {
		t.Errorf("Get after repair = %d bytes, %v", len(got.Secret), err)
	}
	if r, err := st.Check(ctx); err != nil || !r.OK() {
		t.Errorf("Check after repair: %q, %v", r.Problems(), err)
	}
}

// TestRepairDeletesRealOrphans: chunks no head points at go, with doctor --fix.
func TestRepairDeletesRealOrphans(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(512, nil)
	k := store.OSKeyring{Timeout: 10 * time.Second}
	if err := k.Set(ctx, "regcred-chunk:0123456789abcdef0123456789abcdef:1", "left over"); err != nil {
		t.Fatal(err)
	}
	r, err := st.Check(ctx)
	if err != nil || r.Orphans != 1 {
		t.Fatalf("Check = %+v, %v; want one orphan", r, err)
	}
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if items := f.items(); len(items) != 0 {
		t.Errorf("orphan chunk survived repair: %q", items)
	}
}

// TestMigratesVersion1Items: items written by regcred before version 2 —
// named by the address as typed, with no address inside — are found by get
// through the old index, and rewritten under their canonical names.
func TestMigratesVersion1Items(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := store.OSKeyring{Timeout: 10 * time.Second}
	gen := "0123456789abcdef0123456789abcdef"
	big := `{"v":1,"u":"aws","s":"` + strings.Repeat("z", 700) + `"}`
	sum := sha256.Sum256([]byte(big))
	old := map[string]string{
		"https://index.docker.io/v1/": `{"v":1,"u":"hub","s":"h"}`,
		"Big.Example":                 fmt.Sprintf(`{"v":1,"g":%q,"n":2,"h":%q}`, gen, hex.EncodeToString(sum[:])),
		"regcred-chunk:" + gen + ":1": big[:400],
		"regcred-chunk:" + gen + ":2": big[400:],
	}
	for account, data := range old {
		if err := k.Set(ctx, account, data); err != nil {
			t.Fatal(err)
		}
	}
	idx := "regcred-index 1\nBig.Example \"aws\" " + gen + ":2\nhttps://index.docker.io/v1/ \"hub\"\n"
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "index.json"), []byte(idx), 0o600); err != nil {
		t.Fatal(err)
	}
	st := f.store(512, nil)
	got, err := st.Get(ctx, "docker.io")
	if err != nil || got.Username != "hub" || got.Secret != "h" || got.ServerURL != "https://index.docker.io/v1/" {
		t.Errorf("Get(docker.io) = %+v, %v", got, err)
	}
	if got, err := st.Get(ctx, "big.example"); err != nil || got.Secret != strings.Repeat("z", 700) {
		t.Errorf("Get(big.example) = %d bytes, %v", len(got.Secret), err)
	}
	items := f.items()
	if !slices.Contains(items, "docker.io") || !slices.Contains(items, "big.example") || slices.Contains(items, "Big.Example") ||
		slices.Contains(items, "https://index.docker.io/v1/") || slices.Contains(items, "regcred-chunk:"+gen+":1") {
		t.Errorf("items after migration = %q", items)
	}
	want := map[string]string{"https://index.docker.io/v1/": "hub", "Big.Example": "aws"}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, want) {
		t.Errorf("List = %v, %v; want %v", list, err, want)
	}
	f.checkAccounted(st)
}

// lateKeyring abandons the n-th Set of an account with the given prefix as
// a REGCRED_TIMEOUT does — the caller sees ErrKeyringTimeout — and lets the
// write land later, when release is closed.
type lateKeyring struct {
	store.OSKeyring
	match   func(account string) bool
	release chan struct{}
	landed  chan struct{}
}

func (k *lateKeyring) Set(ctx context.Context, account, data string) error {
	if k.match != nil && k.match(account) {
		k.match = nil
		go func() {
			<-k.release
			_ = k.OSKeyring.Set(context.Background(), account, data)
			close(k.landed)
		}()
		return store.ErrKeyringTimeout
	}
	return k.OSKeyring.Set(ctx, account, data)
}

// TestTimedOutWritesLandLater: a keyring write abandoned at REGCRED_TIMEOUT
// may still complete. Whichever write it was, get then returns the old or
// the new credential (never a head without its chunks), list agrees with
// get, and the next write of the registry leaves nothing behind.
func TestTimedOutWritesLandLater(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	server := "late.example"
	old := store.Credential{ServerURL: server, Username: "old", Secret: strings.Repeat("o", 1500)}
	next := store.Credential{ServerURL: server, Username: "new", Secret: strings.Repeat("n", 1500)}
	for _, which := range []string{"chunk", "head"} {
		t.Run(which, func(t *testing.T) {
			clean := f.store(512, nil)
			if err := clean.Put(ctx, old); err != nil {
				t.Fatal(err)
			}
			k := &lateKeyring{OSKeyring: store.OSKeyring{Timeout: 10 * time.Second}, release: make(chan struct{}), landed: make(chan struct{})}
			k.match = map[string]func(string) bool{
				"chunk": func(a string) bool { return strings.HasSuffix(a, ":2") },
				"head":  func(a string) bool { return a == server },
			}[which]
			st, err := store.New(store.Config{Dir: f.dir, ItemLimit: 512, Keyring: k})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(ctx, next); !errors.Is(err, store.ErrKeyringTimeout) {
				t.Fatalf("Put = %v, want the time-out", err)
			}
			check := func(when string) {
				got, err := clean.Get(ctx, server)
				if err != nil || (got != old && got != next) {
					t.Errorf("%s: Get = %q/%d bytes, %v; want the old or the new credential", when, got.Username, len(got.Secret), err)
				}
				if list, err := clean.List(ctx); err != nil || list[server] != got.Username {
					t.Errorf("%s: List = %v, %v; Get says %q", when, list, err, got.Username)
				}
			}
			check("before the abandoned write lands")
			close(k.release)
			<-k.landed
			check("after it landed")
			f.checkAccounted(clean)
			if err := clean.Erase(ctx, server); err != nil {
				t.Fatal(err)
			}
			if items := f.items(); len(items) != 0 {
				t.Errorf("after erase the keyring still holds %q", items)
			}
		})
	}
}
