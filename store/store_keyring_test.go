package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
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

// checkAccounted fails if the keyring holds an item the index does not
// account for: the invariant the order of writes exists to keep.
func (f *fixture) checkAccounted(st *store.Store) {
	f.t.Helper()
	idx, err := st.Index()
	if err != nil {
		f.t.Fatal(err)
	}
	known := map[string]bool{}
	for server, e := range idx.Entries {
		known[server] = true
		for gen, n := range e.Chunks {
			for i := 1; i <= n; i++ {
				known[fmt.Sprintf("regcred-chunk:%s:%d", gen, i)] = true
			}
		}
	}
	for _, it := range f.items() {
		if !known[it] {
			f.t.Errorf("keyring item %q is not accounted for by the index", it)
		}
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
	if items := f.items(); !slices.Equal(items, []string{want.ServerURL}) {
		t.Errorf("keyring items = %q, want exactly one item for the entry", items)
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
	if want := map[string]string{"r.example:5000": "new"}; !mapsEqual(list, want) {
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

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
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
					if list, err := clean.List(ctx); err != nil || list[server] != got.Username {
						t.Errorf("after interruption List says %q, Get says %q (%v)", list[server], got.Username, err)
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
