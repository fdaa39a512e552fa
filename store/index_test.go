package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestIndexEncodeDecode(t *testing.T) {
	idx := newIndex()
	idx.Entries["https://index.docker.io/v1/"] = &Entry{Username: "alice"}
	idx.Entries["[::1]:5000"] = &Entry{Username: "<token>", Chunks: map[string]int{"0123456789abcdef0123456789abcdef": 3}}
	data, err := idx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, idx) {
		t.Errorf("round trip: got %+v, want %+v", got, idx)
	}
	again, _ := got.Encode()
	if string(again) != string(data) {
		t.Errorf("encoding is not deterministic")
	}
}

func TestDecodeIndexEmpty(t *testing.T) {
	for _, in := range []string{"", "  \n", "regcred-index 1\n", "regcred-index 1\n\n"} {
		idx, err := DecodeIndex([]byte(in))
		if err != nil || idx.Entries == nil || len(idx.Entries) != 0 {
			t.Errorf("DecodeIndex(%q) = %+v, %v; want empty", in, idx, err)
		}
	}
}

func TestIndexFormat(t *testing.T) {
	idx := newIndex()
	idx.Entries["b.example"] = &Entry{Username: "has \"quotes\" and space\ttab"}
	idx.Entries["a.example:5000"] = &Entry{Username: "<token>", Chunks: map[string]int{"0123456789abcdef0123456789abcdef": 3}}
	next := "new user"
	idx.Entries["c.example"] = &Entry{Username: "old", Pending: &next}
	got, err := idx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "regcred-index 1\n" +
		"a.example:5000 \"<token>\" 0123456789abcdef0123456789abcdef:3\n" +
		"b.example \"has \\\"quotes\\\" and space\\ttab\"\n" +
		"c.example \"old\" >\"new user\"\n"
	if string(got) != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
	back, err := DecodeIndex(got)
	if err != nil || !reflect.DeepEqual(back, idx) {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}

func TestDecodeIndexCorrupt(t *testing.T) {
	for _, in := range []string{
		`{"version":1,"entries":{}}`,
		"regcred-index 2\n",
		"regcred-index 1\na.example\n",
		"regcred-index 1\na.example alice\n",
		"regcred-index 1\na.example \"alice\n",
		"regcred-index 1\n \"alice\"\n",
		"regcred-index 1\na.example \"u\" xyz:1\n",
		"regcred-index 1\na.example \"u\" 0123456789abcdef0123456789abcdef:0\n",
		"regcred-index 1\na.example \"u\" 0123456789abcdef0123456789abcdef\n",
		"regcred-index 1\na.example \"u\"\na.example \"v\"\n",
		"regcred-index 1\na\x01.example \"u\"\n",
	} {
		if _, err := DecodeIndex([]byte(in)); !errors.Is(err, ErrCorruptIndex) {
			t.Errorf("DecodeIndex(%q) = %v, want ErrCorruptIndex", in, err)
		}
		if _, _, err := decodeUsernames(in); !errors.Is(err, ErrCorruptIndex) {
			t.Errorf("decodeUsernames(%q) = %v, want ErrCorruptIndex", in, err)
		}
	}
}

func TestSaveIndexIsPrivateAndAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	path := filepath.Join(dir, "index.json")
	idx := newIndex()
	idx.Entries["a.example"] = &Entry{Username: "u"}
	if err := saveIndex(path, idx); err != nil {
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
	got, err := loadIndex(path)
	if err != nil || got.Entries["a.example"].Username != "u" {
		t.Errorf("loadIndex = %+v, %v", got, err)
	}
}
