//go:build linux

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

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"

	"github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"

	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/testenv"
)

// fixture is a Store on a private gnome-keyring.
type fixture struct {
	t       *testing.T
	session *launch.Session
	// lock is the session's writers' lock, as DefaultLockPath would put it.
	lock string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := testenv.StartSessionT(t, launch.Unlocked)
	// The OS keyring is reached through the process environment, as in
	// production: point this test process at the private bus.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", s.Address)
	return &fixture{t: t, session: s, lock: filepath.Join(s.Dir, ".cache", "regcred", "lock")}
}

// keyring is a Secret Service keyring as Open makes it for the fixture.
func (f *fixture) keyring(timeout time.Duration) *keyring.SecretService {
	return keyring.NewSecretService(keyring.Options{Timeout: timeout, Format: store.ItemFormat{}, LockPath: f.lock})
}

// config is the fixture's Config; legacy is the old index file, if any.
func (f *fixture) config(limit int, fault func(string)) store.Config {
	return store.Config{
		LockPath:    f.lock,
		ItemLimit:   limit,
		Keyring:     f.keyring(10 * time.Second),
		Fault:       fault,
		LegacyIndex: filepath.Join(f.session.Dir, ".config", "regcred", "index.json"),
	}
}

func (f *fixture) store(limit int, fault func(string)) *store.Store {
	f.t.Helper()
	st, err := store.New(f.config(limit, fault))
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// items lists every account in the keyring under the regcred service.
func (f *fixture) items() []string {
	f.t.Helper()
	items, err := f.session.Items(keyring.Service)
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

// checkInOrder fails if doctor would find anything out of order: a chunk
// no credential uses, an item that cannot be read or is in an older form.
func (f *fixture) checkInOrder(st *store.Store) {
	f.t.Helper()
	r, err := st.Check(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if !r.OK() {
		f.t.Errorf("keyring not in order: %q", r.Problems())
	}
}

// mustGet returns the credential, failing the test on any error.
func mustGet(t *testing.T, st *store.Store, query string) store.Credential {
	t.Helper()
	c, err := st.Get(context.Background(), query)
	if err != nil {
		t.Fatalf("Get(%q): %v", query, err)
	}
	return c
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
		if got := mustGet(t, st, q); got != want {
			t.Errorf("Get(%q) = %+v; want %+v", q, got, want)
		}
	}
	// One item, named by the canonical address, labelled for people too.
	labels, err := f.session.Labels(keyring.Service)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"docker.io": "Registry credentials for https://index.docker.io/v1/ (alice)"}; !maps.Equal(labels, want) {
		t.Errorf("keyring items = %q, want %q", labels, want)
	}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, map[string]string{want.ServerURL: "alice"}) {
		t.Errorf("List = %v, %v", list, err)
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
		name   string
		secret string
		chunks int // chunk items after the step: at least this many, or exactly 0
	}{
		{"large", big, len(big) / 512},
		{"larger", big + big, 2 * len(big) / 512},
		{"small replaces large", "tiny", 0},
		{"large again", big, len(big) / 512},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			if err := st.Put(ctx, store.Credential{ServerURL: server, Username: "AWS", Secret: step.secret}); err != nil {
				t.Fatal(err)
			}
			got := mustGet(t, st, server)
			if got.Secret != step.secret || got.Username != "AWS" {
				t.Fatalf("Get = %q/%d bytes; want AWS/%d bytes", got.Username, len(got.Secret), len(step.secret))
			}
			chunks := 0
			for _, it := range f.items() {
				if strings.HasPrefix(it, "regcred-chunk:") {
					chunks++
				}
			}
			if step.chunks > 0 && chunks < step.chunks || step.chunks == 0 && chunks != 0 {
				t.Errorf("%d chunk items after storing %d bytes, want %d", chunks, len(step.secret), step.chunks)
			}
			f.checkInOrder(st)
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
	if list, err := st.List(ctx); err != nil || len(list) != 0 {
		t.Errorf("erase by equivalent spelling left %v, %v", list, err)
	}
}

// crash stops a store operation at a fault point, as a kill would.
type crash struct{ step string }

// TestStoreWriteOrder interrupts store and erase at every write step and
// checks what the package comment promises: get answers the old or the new
// credential (or, for an entry being created or erased, not found), never a
// mix; list agrees with get; and the next erase leaves nothing behind. Each
// operation must reach at least the number of steps its table entry names,
// so a fault hook that stopped being called fails the test.
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
		steps int               // write steps the operation must reach
	}
	ops := []op{
		{"create small", nil, &small, 1},        // the item
		{"create large", nil, &large, 5},        // 4 chunks, the item
		{"large over large", &old, &large, 9},   // 4 chunks, the item, 4 old chunks
		{"small over large", &old, &small, 5},   // the item, 4 old chunks
		{"large over small", &small, &large, 5}, // 4 chunks, the item
		{"erase large", &old, nil, 5},           // the item, its 4 chunks
		{"erase small", &small, nil, 1},         // the item
		{"respell small", &store.Credential{ServerURL: "https://Crash.Example/", Username: "old", Secret: "o"}, &small, 1},
		{"respell large", &store.Credential{ServerURL: "https://Crash.Example/", Username: "old", Secret: strings.Repeat("o", 1500)}, &large, 9},
	}
	for _, o := range ops {
		reachedSteps := 0
		for stop := 1; ; stop++ {
			reached := false
			t.Run(fmt.Sprintf("%s/stop at write %d", o.name, stop), func(t *testing.T) {
				clean := f.store(512, nil)
				if err := clean.Erase(ctx, server); err != nil {
					t.Fatal(err)
				}
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
				got, err := clean.Get(ctx, server)
				if other, err2 := clean.Get(ctx, "CRASH.example"); other != got || !errors.Is(err2, err) && err2 != err {
					t.Errorf("spellings disagree: %+v, %v against %+v, %v", got, err, other, err2)
				}
				switch {
				case errors.Is(err, store.ErrNotFound):
					if o.setup != nil && o.put != nil {
						t.Errorf("overwrite interrupted: the old credential is lost")
					}
					if list, err := clean.List(ctx); err != nil || len(list) != 0 {
						t.Errorf("after interruption List says %v (%v), Get says not found", list, err)
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
				// The next operation on the entry clears whatever is left.
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
			reachedSteps++
		}
		t.Logf("%s: interrupted at %d write steps", o.name, reachedSteps)
		if reachedSteps < o.steps {
			t.Errorf("%s: interrupted at %d write steps, want at least %d", o.name, reachedSteps, o.steps)
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
		if c := mustGet(t, st, fmt.Sprintf("r%d.example", i)); c.Username != fmt.Sprintf("u%d", i) {
			t.Errorf("entry %d: %+v", i, c)
		}
	}
}

func TestStoreFailedWriteSaysWhy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(0, nil)
	if err := st.Put(ctx, store.Credential{ServerURL: "keep.example", Username: "u", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	f.session.KillKeyring()
	cfg := f.config(0, nil)
	cfg.Keyring = f.keyring(2 * time.Second)
	short, err := store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = short.Put(ctx, store.Credential{ServerURL: "new.example", Username: "u", Secret: "s"})
	if !errors.Is(err, keyring.ErrNoProvider) {
		t.Errorf("Put with the keyring gone = %v, want keyring.ErrNoProvider", err)
	}
}

// TestTwoConfigDirsAgree: one keyring written from two config directories
// (each with its own legacy index path, as XDG_CONFIG_HOME would give);
// after each write both list exactly the expected registries and get
// returns exactly the expected credential, and doctor sees nothing wrong.
func TestTwoConfigDirsAgree(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	open := func() *store.Store {
		cfg := f.config(0, nil)
		cfg.LegacyIndex = filepath.Join(t.TempDir(), "index.json")
		s, err := store.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b := open(), open()
	steps := []struct {
		by    *store.Store
		cred  store.Credential
		erase bool
	}{
		{by: a, cred: store.Credential{ServerURL: "r.example", Username: "ann", Secret: "1"}},
		{by: b, cred: store.Credential{ServerURL: "r.example", Username: "ben", Secret: "2"}},
		{by: a, cred: store.Credential{ServerURL: "s.example", Username: "sue", Secret: "3"}},
		{by: b, cred: store.Credential{ServerURL: "https://R.example/", Username: "bob", Secret: "4"}},
		{by: a, cred: store.Credential{ServerURL: "S.EXAMPLE"}, erase: true},
	}
	want := map[string]store.Credential{} // canonical address → credential
	for i, step := range steps {
		var err error
		if step.erase {
			err = step.by.Erase(ctx, step.cred.ServerURL)
			delete(want, address.Canonical(step.cred.ServerURL))
		} else {
			err = step.by.Put(ctx, step.cred)
			want[address.Canonical(step.cred.ServerURL)] = step.cred
		}
		if err != nil {
			t.Fatal(err)
		}
		wantList := map[string]string{}
		for _, c := range want {
			wantList[c.ServerURL] = c.Username
		}
		for name, s := range map[string]*store.Store{"A": a, "B": b} {
			if list, err := s.List(ctx); err != nil || !maps.Equal(list, wantList) {
				t.Errorf("step %d, %s: List = %v, %v; want %v", i, name, list, err, wantList)
			}
			for _, q := range []string{"r.example", "s.example"} {
				got, err := s.Get(ctx, q)
				w, ok := want[q]
				switch {
				case !ok && !errors.Is(err, store.ErrNotFound):
					t.Errorf("step %d, %s: Get(%s) = %+v, %v; want not found", i, name, q, got, err)
				case ok && (err != nil || got != w):
					t.Errorf("step %d, %s: Get(%s) = %+v, %v; want %+v", i, name, q, got, err, w)
				}
			}
			f.checkInOrder(s)
		}
	}
}

// TestCaseRelogin: a re-login under other letter case leaves one item with
// the new credential (on Windows, Credential Manager's target names are
// case-insensitive; see the Wine tests for the real thing).
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
		if got := mustGet(t, st, q); got != bob {
			t.Errorf("Get(%q) = %+v; want %+v", q, got, bob)
		}
	}
	if items := f.items(); !slices.Equal(items, []string{"reg.example.com"}) {
		t.Errorf("items = %q, want exactly one", items)
	}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, map[string]string{"Reg.Example.com": "bob"}) {
		t.Errorf("List = %v, %v", list, err)
	}
}

// TestRepairKeepsChunkedCredential: doctor --fix finds nothing to do with a
// chunked credential, and changes nothing.
func TestRepairKeepsChunkedCredential(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(512, nil)
	big := store.Credential{ServerURL: "big.example", Username: "u", Secret: strings.Repeat("x", 3000)}
	if err := st.Put(ctx, big); err != nil {
		t.Fatal(err)
	}
	before := f.items()
	if len(before) < 7 {
		t.Fatalf("a 3000-byte secret at a 512-byte limit made only %d items", len(before))
	}
	f.checkInOrder(st)
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if after := f.items(); !slices.Equal(before, after) {
		t.Errorf("repair changed the keyring: %q -> %q", before, after)
	}
	if got := mustGet(t, st, "big.example"); got != big {
		t.Errorf("Get after repair = %d bytes", len(got.Secret))
	}
}

// TestRepairDeletesStrayChunks: chunks no credential uses — one in the
// slot a live credential does not use, one of a registry with no item, one
// an older version named by a generation — go, with doctor --fix.
func TestRepairDeletesStrayChunks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	st := f.store(512, nil)
	live := store.Credential{ServerURL: "live.example", Username: "u", Secret: strings.Repeat("l", 1000)}
	if err := st.Put(ctx, live); err != nil {
		t.Fatal(err)
	}
	liveItems := f.items()
	k := f.keyring(10 * time.Second)
	hash := func(key string) string { s := sha256.Sum256([]byte(key)); return hex.EncodeToString(s[:16]) }
	strays := []string{
		"regcred-chunk:" + hash("live.example") + ":b:1",
		"regcred-chunk:" + hash("gone.example") + ":a:1",
		"regcred-chunk:0123456789abcdef0123456789abcdef:1",
	}
	for _, a := range strays {
		if err := k.Set(ctx, a, keyring.Label{}, "left over"); err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.Check(ctx)
	if err != nil || !slices.Equal(slices.Sorted(slices.Values(r.Stray)), slices.Sorted(slices.Values(strays))) {
		t.Fatalf("Check = %+v, %v; want the three strays", r, err)
	}
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	if items := f.items(); !slices.Equal(items, liveItems) {
		t.Errorf("after repair the keyring holds %q, want the live credential's %q", items, liveItems)
	}
	if got := mustGet(t, st, "live.example"); got != live {
		t.Errorf("repair damaged the live credential: %d bytes", len(got.Secret))
	}
}

// TestMigratesOlderItems: items versions 1 and 2 wrote through go-keyring —
// named by the address as typed (1) or canonical (2), with go-keyring's
// label, chunk sets named by a generation, and version 2's stamp item —
// are found by get through the old index, listed, and rewritten in this
// version's form, and the old index goes.
// sessionCollection is gnome-keyring's in-memory collection.
const sessionCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/session")

func TestMigratesOlderItems(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	gen := "0123456789abcdef0123456789abcdef"
	big := `{"v":1,"u":"aws","s":"` + strings.Repeat("z", 700) + `"}`
	sum := sha256.Sum256([]byte(big))
	old := map[string]string{
		"https://index.docker.io/v1/": `{"v":1,"u":"hub","s":"h"}`,
		"Big.Example":                 fmt.Sprintf(`{"v":1,"g":%q,"n":2,"h":%q}`, gen, hex.EncodeToString(sum[:])),
		"regcred-chunk:" + gen + ":1": big[:400],
		"regcred-chunk:" + gen + ":2": big[400:],
		"v2.example:5000":             `{"v":2,"a":"V2.example:5000","u":"two","s":"2"}`,
		"regcred:stamp":               "0123",
	}
	for account, data := range old {
		if err := gokeyring.Set(keyring.Service, account, data); err != nil {
			t.Fatal(err)
		}
	}
	// Version 2 (16f5ecb) kept its stamp in gnome-keyring's in-memory
	// session collection where there was one.
	sessionStamps := func() []dbus.ObjectPath {
		svc, err := ss.NewSecretService()
		if err != nil {
			t.Fatal(err)
		}
		paths, err := svc.SearchItems(svc.Object("org.freedesktop.secrets", sessionCollection), map[string]string{"service": keyring.Service, "username": "regcred:stamp"})
		if err != nil {
			t.Fatal(err)
		}
		return paths
	}
	svc, err := ss.NewSecretService()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := svc.OpenSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.CreateItem(svc.Object("org.freedesktop.secrets", sessionCollection), "0123",
		map[string]string{"service": keyring.Service, "username": "regcred:stamp"}, ss.NewSecret(sess.Path(), "")); err != nil {
		t.Fatal(err)
	}
	if n := len(sessionStamps()); n != 1 {
		t.Fatalf("%d stamps in the session collection; want the one just made", n)
	}
	cfg := f.config(512, nil)
	if err := os.MkdirAll(filepath.Dir(cfg.LegacyIndex), 0o700); err != nil {
		t.Fatal(err)
	}
	idx := "regcred-index 1\nBig.Example \"aws\" " + gen + ":2\nhttps://index.docker.io/v1/ \"hub\"\n"
	if err := os.WriteFile(cfg.LegacyIndex, []byte(idx), 0o600); err != nil {
		t.Fatal(err)
	}
	st := f.store(512, nil)
	// list reads older items' content: right before any migration.
	want := map[string]string{"https://index.docker.io/v1/": "hub", "Big.Example": "aws", "V2.example:5000": "two"}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, want) {
		t.Errorf("List before migration = %v, %v; want %v", list, err, want)
	}
	if got := mustGet(t, st, "docker.io"); got.Username != "hub" || got.Secret != "h" || got.ServerURL != "https://index.docker.io/v1/" {
		t.Errorf("Get(docker.io) = %+v", got)
	}
	if got := mustGet(t, st, "big.example"); got.Secret != strings.Repeat("z", 700) || got.ServerURL != "Big.Example" {
		t.Errorf("Get(big.example) = %q, %d bytes", got.ServerURL, len(got.Secret))
	}
	if _, err := os.Stat(cfg.LegacyIndex); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old index is still there after migration: %v", err)
	}
	items := f.items()
	for _, gone := range []string{"Big.Example", "https://index.docker.io/v1/", "regcred-chunk:" + gen + ":1", "regcred:stamp"} {
		if slices.Contains(items, gone) {
			t.Errorf("%q survived migration: %q", gone, items)
		}
	}
	if list, err := st.List(ctx); err != nil || !maps.Equal(list, want) {
		t.Errorf("List after migration = %v, %v; want %v", list, err, want)
	}
	if stamps := sessionStamps(); len(stamps) != 0 {
		t.Errorf("the old stamp survived migration in the session collection: %q", stamps)
	}
	f.checkInOrder(st)
	// An item in an older form with no old index left (one restored from a
	// backup, say): list still shows it, doctor reports it, --fix rewrites it.
	if err := gokeyring.Set(keyring.Service, "late.example", `{"v":2,"a":"Late.example","u":"l","s":"3"}`); err != nil {
		t.Fatal(err)
	}
	if list, err := st.List(ctx); err != nil || list["Late.example"] != "l" {
		t.Errorf("List = %v, %v; want Late.example too", list, err)
	}
	r, err := st.Check(ctx)
	if err != nil || !slices.Equal(r.Legacy, []string{"late.example"}) {
		t.Errorf("Check = %q, %v; want the version 2 item as legacy", r.Problems(), err)
	}
	if _, err := st.Repair(ctx); err != nil {
		t.Fatal(err)
	}
	f.checkInOrder(st)
	labels, err := f.session.Labels(keyring.Service)
	if err != nil {
		t.Fatal(err)
	}
	for account, label := range map[string]string{"late.example": "Late.example (l)", "v2.example:5000": "V2.example:5000 (two)", "big.example": "Big.Example (aws)"} {
		if labels[account] != "Registry credentials for "+label {
			t.Errorf("label of %s = %q", account, labels[account])
		}
	}
	if got := mustGet(t, st, "late.example"); got.Secret != "3" {
		t.Errorf("Get(late.example) after repair = %+v", got)
	}
}

// lateKeyring abandons the first Set of an account that match picks as a
// REGCRED_TIMEOUT does — the caller sees keyring.ErrKeyringTimeout — and lets the
// write land later, when release is closed.
type lateKeyring struct {
	*keyring.SecretService
	match   func(account string) bool
	release chan struct{}
	landed  chan struct{}
}

func (k *lateKeyring) Set(ctx context.Context, account string, label keyring.Label, data string) error {
	if k.match != nil && k.match(account) {
		k.match = nil
		go func() {
			<-k.release
			_ = k.SecretService.Set(context.Background(), account, label, data)
			close(k.landed)
		}()
		return keyring.ErrKeyringTimeout
	}
	return k.SecretService.Set(ctx, account, label, data)
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
			k := &lateKeyring{SecretService: f.keyring(10 * time.Second), release: make(chan struct{}), landed: make(chan struct{})}
			k.match = map[string]func(string) bool{
				"chunk": func(a string) bool { return strings.HasSuffix(a, ":2") },
				"head":  func(a string) bool { return a == server },
			}[which]
			cfg := f.config(512, nil)
			cfg.Keyring = k
			st, err := store.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Put(ctx, next); !errors.Is(err, keyring.ErrKeyringTimeout) {
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
			if err := clean.Erase(ctx, server); err != nil {
				t.Fatal(err)
			}
			if items := f.items(); len(items) != 0 {
				t.Errorf("after erase the keyring still holds %q", items)
			}
		})
	}
}

// otherDir is a Store on the fixture's keyring as a process with another
// XDG_CONFIG_HOME opens it: its own legacy index path, the same user's lock.
func (f *fixture) otherDir(limit int, fault func(string)) *store.Store {
	f.t.Helper()
	cfg := f.config(limit, fault)
	cfg.LegacyIndex = filepath.Join(f.t.TempDir(), "index.json")
	st, err := store.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// TestRepairWaitsForStoreInFlight (review point 3): doctor --fix from one
// config dir while a store from another is between its chunks and its item
// must not delete those chunks as strays: it waits for the user's lock.
func TestRepairWaitsForStoreInFlight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	paused, resume := make(chan struct{}), make(chan struct{})
	chunks := 0
	a := f.store(512, func(step string) {
		if step == "chunk" {
			if chunks++; chunks == 2 { // chunk 1 is written
				close(paused)
				<-resume
			}
		}
	})
	big := store.Credential{ServerURL: "big.example", Username: "u", Secret: strings.Repeat("b", 2000)}
	stored := make(chan error, 1)
	go func() { stored <- a.Put(ctx, big) }()
	<-paused
	repaired := make(chan error, 1)
	go func() { _, err := f.otherDir(512, nil).Repair(ctx); repaired <- err }()
	select {
	case err := <-repaired:
		t.Errorf("doctor --fix ran while a store was under way (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(resume)
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	if err := <-repaired; err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, a, "big.example"); got != big {
		t.Errorf("Get after a repair raced the store = %d bytes", len(got.Secret))
	}
	f.checkInOrder(a)
}

// TestEraseFromAnotherDirAfterRestore (review point 4): a chunked secret
// re-stored from config dir B, then erased from dir A, leaves nothing of
// either write in the keyring.
func TestEraseFromAnotherDirAfterRestore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.store(512, nil), f.otherDir(512, nil)
	if err := a.Put(ctx, store.Credential{ServerURL: "big.example", Username: "u", Secret: strings.Repeat("1", 2000)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.List(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, store.Credential{ServerURL: "big.example", Username: "u", Secret: strings.Repeat("2", 3000)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Erase(ctx, "big.example"); err != nil {
		t.Fatal(err)
	}
	if items := f.items(); len(items) != 0 {
		t.Errorf("after logout the keyring still holds %d items: %q", len(items), items)
	}
}

// TestConcurrentDirsListEverything (review point 5): stores from two config
// dirs racing each other, with lists racing both, lose nothing from list.
func TestConcurrentDirsListEverything(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dirs := []*store.Store{f.store(0, nil), f.otherDir(0, nil)}
	want := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		server, user := fmt.Sprintf("r%d.example", i), fmt.Sprintf("u%d", i)
		want[server] = user
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- dirs[i%2].Put(ctx, store.Credential{ServerURL: server, Username: user, Secret: "s"})
		}()
		go func() {
			defer wg.Done()
			_, err := dirs[(i+1)%2].List(ctx)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i, s := range dirs {
		if list, err := s.List(ctx); err != nil || !maps.Equal(list, want) {
			t.Errorf("dir %d: List = %v, %v; want all %d", i, list, err, len(want))
		}
	}
}

// hookKeyring runs after once, the first time account's item is read.
type hookKeyring struct {
	*keyring.SecretService
	account string
	after   func()
	once    sync.Once
}

func (k *hookKeyring) Get(ctx context.Context, account string) (string, error) {
	data, err := k.SecretService.Get(ctx, account)
	if account == k.account {
		k.once.Do(k.after)
	}
	return data, err
}

// TestLoginLogoutDuringGet (review point 6): a login and a logout of the
// registry a get is reading must leave list without that registry.
func TestLoginLogoutDuringGet(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other := f.otherDir(0, nil)
	if err := other.Put(ctx, store.Credential{ServerURL: "r.example", Username: "old", Secret: "1"}); err != nil {
		t.Fatal(err)
	}
	cfg := f.config(0, nil)
	cfg.Keyring = &hookKeyring{SecretService: f.keyring(10 * time.Second), account: "r.example", after: func() {
		if err := other.Put(ctx, store.Credential{ServerURL: "r.example", Username: "new", Secret: "2"}); err != nil {
			t.Error(err)
		}
		if err := other.Erase(ctx, "r.example"); err != nil {
			t.Error(err)
		}
	}}
	reader, err := store.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := reader.Get(ctx, "r.example"); err != nil || got.Username != "old" {
		t.Fatalf("Get = %+v, %v; want the credential read before the logout", got, err)
	}
	for _, s := range []*store.Store{reader, other} {
		if list, err := s.List(ctx); err != nil || len(list) != 0 {
			t.Errorf("List after logout = %v, %v; want nothing", list, err)
		}
	}
}
