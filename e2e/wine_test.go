package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"

	"github.com/regcred/regcred/testenv"
)

// winHelper is the Windows build of the helper in a Wine prefix.
type winHelper struct {
	t    *testing.T
	wine *launch.Wine
	exe  string
	env  map[string]string
}

func (h *winHelper) run(stdin string, args ...string) launch.Result {
	h.t.Helper()
	r, err := h.wine.Run(h.exe, h.env, stdin, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

func (h *winHelper) store(server, user, secret string) {
	h.t.Helper()
	in, _ := json.Marshal(map[string]string{"ServerURL": server, "Username": user, "Secret": secret})
	if r := h.run(string(in), "store"); r.Code != 0 {
		h.t.Fatalf("store %s: exit %d (signal %v) %s%s", server, r.Code, r.Signal, r.Stdout, r.Stderr)
	}
}

func (h *winHelper) get(server string) (user, secret string, r launch.Result) {
	h.t.Helper()
	r = h.run(server, "get")
	var c struct{ Username, Secret string }
	if r.Code == 0 {
		if err := json.Unmarshal([]byte(r.Stdout), &c); err != nil {
			h.t.Fatalf("get %s printed %q", server, r.Stdout)
		}
	}
	return c.Username, c.Secret, r
}

func (h *winHelper) list() map[string]string {
	h.t.Helper()
	r := h.run("", "list")
	var l map[string]string
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &l) != nil {
		h.t.Fatalf("list: exit %d %q %s", r.Code, r.Stdout, r.Stderr)
	}
	return l
}

// items lists the Credential Manager items of regcred, in lower case:
// Windows keeps whichever letter case a target was first written with.
func (h *winHelper) items() []string {
	h.t.Helper()
	items, err := h.wine.Items(keyring.Service)
	if err != nil {
		h.t.Fatal(err)
	}
	for i := range items {
		items[i] = strings.ToLower(items[i])
	}
	slices.Sort(items)
	return items
}

func (h *winHelper) eraseAll() {
	h.t.Helper()
	for server := range h.list() {
		if r := h.run(server, "erase"); r.Code != 0 {
			h.t.Fatalf("erase %s: %s", server, r.Stdout)
		}
	}
	if items := h.items(); len(items) != 0 {
		h.t.Fatalf("after erasing everything Credential Manager holds %q", items)
	}
}

// TestWindowsCredentialManager runs the Windows build under Wine, against
// Wine's Credential Manager: the protocol, letter case, chunking,
// concurrent stores and lists, items older versions wrote, and doctor.
func TestWindowsCredentialManager(t *testing.T) {
	if err := launch.WineAvailable(); err != nil {
		testenv.Unavailable(t, err)
	}
	dir := t.TempDir()
	w, err := launch.StartWine(dir)
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(w.Stop)
	exeDir := filepath.Join(dir, "bin")
	exe, err := launch.BuildWindows(exeDir, "docker-credential-regcred")
	if err != nil {
		t.Fatal(err)
	}
	h := &winHelper{t: t, wine: w, exe: exe, env: map[string]string{}}
	const notFound = "credentials not found in native keychain\n"

	t.Run("protocol", func(t *testing.T) {
		h.t = t
		if r := h.run("", "version"); r.Code != 0 || !strings.Contains(r.Stdout, launch.TestVersion) {
			t.Errorf("version: %d %q", r.Code, r.Stdout)
		}
		h.store("https://index.docker.io/v1/", "alice", "wonder:land-Ünï")
		for _, q := range []string{"https://index.docker.io/v1/", "docker.io", "registry-1.docker.io"} {
			if u, s, r := h.get(q); u != "alice" || s != "wonder:land-Ünï" {
				t.Errorf("get %s = %q/%q (%s)", q, u, s, r.Stdout)
			}
		}
		if l := h.list(); fmt.Sprint(l) != "map[https://index.docker.io/v1/:alice]" {
			t.Errorf("list = %v", l)
		}
		for _, q := range []string{"missing.example", "bad host.example", "https://u:pw@docker.io"} {
			if _, _, r := h.get(q); r.Code != 1 || r.Stdout != notFound || r.Stderr != "" {
				t.Errorf("get %q: exit %d stdout %q stderr %q; want exit 1 and exactly %q", q, r.Code, r.Stdout, r.Stderr, notFound)
			}
		}
		if r := h.run("docker.io", "erase"); r.Code != 0 {
			t.Errorf("erase: %s", r.Stdout)
		}
		if _, _, r := h.get("https://index.docker.io/v1/"); r.Stdout != notFound {
			t.Errorf("get after erase: %q", r.Stdout)
		}
		h.eraseAll()
	})

	t.Run("re-login with other letter case", func(t *testing.T) {
		h.t = t
		h.store("reg.example.com", "alice", "a-secret")
		h.store("Reg.Example.com", "bob", "b-secret")
		for _, q := range []string{"reg.example.com", "Reg.Example.com", "REG.EXAMPLE.COM"} {
			if u, s, r := h.get(q); u != "bob" || s != "b-secret" {
				t.Errorf("get %s = %q/%q %s; want bob's credential", q, u, s, r.Stdout)
			}
		}
		if items := h.items(); !slices.Equal(items, []string{"reg.example.com"}) {
			t.Errorf("Credential Manager holds %q; want exactly one item", items)
		}
		if l := h.list(); fmt.Sprint(l) != "map[Reg.Example.com:bob]" {
			t.Errorf("list = %v", l)
		}
		h.eraseAll()
	})

	t.Run("chunking", func(t *testing.T) {
		h.t = t
		h.env["REGCRED_ITEM_LIMIT"] = "512"
		defer delete(h.env, "REGCRED_ITEM_LIMIT")
		big := strings.Repeat("0123456789abcdef€", 200) // 3.8 KiB, over Windows' 2560-byte blob limit too
		h.store("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "AWS", big)
		if u, s, _ := h.get("123456789012.dkr.ecr.eu-west-1.amazonaws.com"); u != "AWS" || s != big {
			t.Errorf("get = %q/%d bytes; want AWS/%d bytes", u, len(s), len(big))
		}
		chunks := 0
		for _, it := range h.items() {
			if strings.HasPrefix(it, "regcred-chunk:") {
				chunks++
			}
		}
		if chunks < len(big)/512 {
			t.Errorf("%d chunk items for %d bytes at a 512-byte limit", chunks, len(big))
		}
		h.eraseAll()
	})

	t.Run("concurrent stores and gets", func(t *testing.T) {
		// Each store must succeed while reads run beside it (a reader that
		// held regcred's index open without FILE_SHARE_DELETE once made a
		// concurrent store's rename fail with "Access is denied"); and
		// regcred keeps no file a reader could hold open. (Lists are not
		// run beside stores here: Wine 8's CredEnumerateW crashes with an
		// access violation when another process writes during it, which
		// Windows, serving it from lsass, does not.)
		h.t = t
		h.store("r0.example", "u0", "s0")
		const n = 8
		var wg sync.WaitGroup
		errs := make(chan string, 2*n)
		for i := range n {
			wg.Go(func() {
				in := fmt.Sprintf(`{"ServerURL":"r%d.example","Username":"u%d","Secret":"s%d"}`, i, i, i)
				r, err := w.Run(exe, nil, in, "store")
				if err != nil || r.Code != 0 {
					errs <- fmt.Sprintf("store r%d: %v %s", i, err, r.Stdout)
				}
			})
			wg.Go(func() {
				if r, err := w.Run(exe, nil, "r0.example", "get"); err != nil || r.Code != 0 {
					errs <- fmt.Sprintf("get: %v exit %d %q", err, r.Code, r.Stdout)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		if l := h.list(); len(l) != n {
			t.Errorf("list after %d concurrent stores = %v", n, l)
		}
		if files, _ := filepath.Glob(filepath.Join(w.AppData(), "regcred", "*")); len(files) != 0 {
			t.Errorf("regcred keeps files a reader could hold open: %q", files)
		}
		for i := range n {
			if u, s, _ := h.get(fmt.Sprintf("r%d.example", i)); u != fmt.Sprintf("u%d", i) || s != fmt.Sprintf("s%d", i) {
				t.Errorf("r%d = %q/%q", i, u, s)
			}
		}
		h.eraseAll()
	})

	t.Run("older items migrate", func(t *testing.T) {
		// Versions 1 and 2 wrote through go-keyring: version 1 named items
		// by the address as typed, and Credential Manager names are
		// case-insensitive, so "Reg.Example.com" is also the item's
		// canonical name, reg.example.com: rewriting it in place must not
		// be followed by deleting it.
		h.t = t
		seed, err := launch.BuildWindowsPackage(filepath.Join(dir, "seed"), "keyringseed", launch.Module+"/testenv/launch/keyringseed")
		if err != nil {
			t.Fatal(err)
		}
		items := "Reg.Example.com\t" + `{"v":1,"u":"alice","s":"pw"}` + "\n" +
			"docker.io\t" + `{"v":2,"a":"https://index.docker.io/v1/","u":"hub","s":"h"}` + "\n" +
			"regcred:stamp\t0123\n"
		if r, err := w.Run(seed, nil, items); err != nil || r.Code != 0 {
			t.Fatalf("seeding older items: %v %s", err, r.Stderr)
		}
		index := filepath.Join(w.AppData(), "regcred", "index.json")
		if err := os.MkdirAll(filepath.Dir(index), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(index, []byte("regcred-index 1\nReg.Example.com \"alice\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if l := h.list(); fmt.Sprint(l) != "map[Reg.Example.com:alice https://index.docker.io/v1/:hub]" {
			t.Errorf("list before migration = %v", l)
		}
		h.store("other.example", "o", "o") // a write migrates first
		if _, err := os.Stat(index); !os.IsNotExist(err) {
			t.Errorf("the old index survived the migration: %v", err)
		}
		for q, want := range map[string]string{"reg.example.com": "alice/pw", "REG.EXAMPLE.COM": "alice/pw", "docker.io": "hub/h"} {
			if u, s, r := h.get(q); u+"/"+s != want {
				t.Errorf("get %s after migration = %q/%q %s; want %s", q, u, s, r.Stdout, want)
			}
		}
		if got := h.items(); !slices.Equal(got, []string{"docker.io", "other.example", "reg.example.com"}) {
			t.Errorf("Credential Manager after migration holds %q", got)
		}
		if l := h.list(); fmt.Sprint(l) != "map[Reg.Example.com:alice https://index.docker.io/v1/:hub other.example:o]" {
			t.Errorf("list after migration = %v", l)
		}
		if r := h.run("", "doctor"); !strings.Contains(r.Stdout, "✓ keyring items in order") {
			t.Errorf("doctor after migration:\n%s", r.Stdout)
		}
		h.eraseAll()
	})

	t.Run("doctor", func(t *testing.T) {
		h.t = t
		h.store("d.example", "d", "d")
		r := h.run("", "doctor")
		for _, want := range []string{"✓ Windows Credential Manager answers", "✓ keyring items in order"} {
			if !strings.Contains(r.Stdout, want) {
				t.Errorf("doctor lacks %q:\n%s", want, r.Stdout)
			}
		}
		for _, linuxWord := range []string{"D-Bus", "Secret Service", "collection"} {
			if strings.Contains(r.Stdout, linuxWord) {
				t.Errorf("doctor on Windows speaks of %q:\n%s", linuxWord, r.Stdout)
			}
		}
		// A different copy of the helper in the current directory: Go —
		// docker too — refuses what a PATH lookup finds there (exec.ErrDot).
		onPath := filepath.Join(dir, "onpath")
		if _, err := launch.BuildWindows(onPath, "docker-credential-regcred"); err != nil {
			t.Fatal(err)
		}
		h.env["WINEPATH"] = `Z:` + strings.ReplaceAll(onPath, "/", `\`)
		defer delete(h.env, "WINEPATH")
		r = h.run("", "doctor")
		if line := "✗ docker-credential-regcred is on PATH: the copy in the current directory"; !strings.Contains(r.Stdout, line) ||
			!strings.Contains(r.Stdout, "shadows the one on PATH") {
			t.Errorf("doctor with a shadowing copy:\n%s", r.Stdout)
		}
		h.eraseAll()
	})
}
