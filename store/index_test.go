package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestIndexSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "index.json")
	idx := newIndex()
	idx.Stamp = "0123456789abcdef0123456789abcdef"
	idx.setCredential("docker.io", entry{Server: DockerHubServer, Username: "alice"})
	idx.setCredential("[::1]:5000", entry{Server: "[::1]:5000", Username: "<token>", Live: "abcdefabcdefabcdefabcdefabcdefab", LiveN: 2})
	idx.recordChunks("[::1]:5000", "0123456789abcdef0123456789abcdef", 3)
	idx.recordChunks("new.example", "fedcba9876543210fedcba9876543210", 2) // unfinished create
	if err := idx.save(path); err != nil {
		t.Fatal(err)
	}
	got, err := loadIndex(path, true)
	if err != nil || got.err != nil {
		t.Fatal(err, got.err)
	}
	if !reflect.DeepEqual(got, idx) {
		t.Errorf("round trip: got %+v, want %+v", got, idx)
	}
	want := map[string]string{DockerHubServer: "alice", "[::1]:5000": "<token>"}
	if l := got.list(); !reflect.DeepEqual(l, want) {
		t.Errorf("list = %v, want %v (an entry with only unfinished chunks is no credential)", l, want)
	}
	if !got.current(idx.Stamp) || got.current("other") || got.current("") {
		t.Error("current must hold for exactly the recorded stamp")
	}
	data, _ := os.ReadFile(path)
	if l, ok := listIfCurrent(data, idx.Stamp); !ok || !reflect.DeepEqual(l, want) {
		t.Errorf("listIfCurrent = %v, %v; want %v", l, ok, want)
	}
	for _, other := range []string{"", "other", "-"} {
		if _, ok := listIfCurrent(data, other); ok {
			t.Errorf("listIfCurrent answered at stamp %q", other)
		}
	}
}

func TestIndexFormat(t *testing.T) {
	idx := newIndex()
	idx.setCredential("b.example", entry{Server: "https://B.example/", Username: "has \"quotes\" and space\ttab"})
	idx.setCredential("a.example:5000", entry{Server: "a.example:5000", Username: "<token>", Live: "abcdefabcdefabcdefabcdefabcdefab", LiveN: 2})
	idx.recordChunks("a.example:5000", "0123456789abcdef0123456789abcdef", 3)
	idx.recordChunks("c.example", "fedcba9876543210fedcba9876543210", 1)
	want := "regcred-index 2 -\n" +
		"a.example:5000 \"a.example:5000\" \"<token>\" @abcdefabcdefabcdefabcdefabcdefab:2 0123456789abcdef0123456789abcdef:3\n" +
		"b.example \"https://B.example/\" \"has \\\"quotes\\\" and space\\ttab\"\n" +
		"c.example \"\" \"\" fedcba9876543210fedcba9876543210:1\n"
	if got := string(idx.encode()); got != want {
		t.Errorf("encode =\n%s\nwant\n%s", got, want)
	}
	back, err := decodeIndex([]byte(want))
	if err != nil || !reflect.DeepEqual(back, idx) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestIndexEntriesTidyUp(t *testing.T) {
	idx := newIndex()
	idx.setCredential("a.example", entry{Server: "a.example", Username: "u"})
	idx.recordChunks("a.example", "0123456789abcdef0123456789abcdef", 2)
	idx.forget("a.example")
	if _, ok := idx.Registries["a.example"]; !ok {
		t.Fatal("forget dropped the unfinished chunk record with the credential")
	}
	idx.dropChunks("a.example", "0123456789abcdef0123456789abcdef")
	if len(idx.Registries) != 0 {
		t.Errorf("an entry that records nothing stayed: %+v", idx.Registries)
	}
}

func TestDecodeIndexEmptyAndLegacy(t *testing.T) {
	for _, in := range []string{"", "  \n"} {
		idx, err := decodeIndex([]byte(in))
		if err != nil || len(idx.Registries) != 0 || idx.current("x") {
			t.Errorf("decodeIndex(%q) = %+v, %v; want empty, not current", in, idx, err)
		}
	}
	legacy := "regcred-index 1\nhttps://index.docker.io/v1/ \"alice\"\nReg.Example.com \"bob\" 0123456789abcdef0123456789abcdef:2\nbad\x01addr \"x\"\n"
	idx, err := decodeIndex([]byte(legacy))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://index.docker.io/v1/", "Reg.Example.com"}; !slices.Equal(idx.legacy, want) {
		t.Errorf("legacy = %q, want %q", idx.legacy, want)
	}
	if idx.current("") || len(idx.Registries) != 0 {
		t.Error("a version 1 index must never answer list")
	}
}

func TestDecodeIndexCorrupt(t *testing.T) {
	for _, in := range []string{
		`{"version":2,"registries":{}}`,
		"regcred-index 3 -\n",
		"regcred-index 2\n",
		"regcred-index 2 -\na.example \"b.example\" \"u\"\n",
		"regcred-index 2 -\na.example \"a.example\" \"u\" xyz:1\n",
		"regcred-index 2 -\na.example \"a.example\" \"u\" 0123456789abcdef0123456789abcdef:0\n",
		"regcred-index 2 -\na.example \"a.example\"\n",
		"regcred-index 2 -\na.example \"a.example\" \"u\n",
		"regcred-index 2 -\na.example \"a.example\" \"u\"\na.example \"A.example\" \"v\"\n",
		"regcred-index 2 -\na\x01.example \"\" \"\"\n",
		"regcred-index 2 -\na.example \"a b.example\" \"u\"\n",
	} {
		idx, err := decodeIndex([]byte(in))
		if err == nil {
			err = idx.validate()
		}
		if !errors.Is(err, errCorruptIndex) {
			t.Errorf("decodeIndex(%q) = %v, want ErrCorruptIndex", in, err)
		}
	}
	// loadIndex treats a corrupt file as an empty cache that is out of date.
	path := filepath.Join(t.TempDir(), "index.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	idx, err := loadIndex(path, true)
	if err != nil || idx.err == nil || len(idx.Registries) != 0 || idx.current("") {
		t.Errorf("loadIndex(corrupt) = %+v, %v", idx, err)
	}
}

func TestSaveIndexIsPrivateAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "index.json")
	idx := newIndex()
	idx.setCredential("a.example", entry{Server: "a.example", Username: "u"})
	if err := idx.save(path); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
