package store

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// FuzzServerAddress: matching never panics, and for every address that
// may be stored, canonical forms are stable and ignore the scheme.
func FuzzServerAddress(f *testing.F) {
	for _, s := range []string{"r.example", "https://index.docker.io/v1/", "[::1]:5000", "HTTP://R.example:5000/v2/",
		"https://index.docker.io/v1/access-token", "a@b", "https://https://x", "x:", "\x00", "ghcr.io/org/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := CanonicalServer(s)
		if ValidateServerURL(s) != nil {
			return
		}
		if again := CanonicalServer(c); again != c {
			t.Errorf("CanonicalServer(%q) = %q, but of that %q", s, c, again)
		}
		bare := trimScheme(s)
		for _, scheme := range []string{"https://", "http://"} {
			if got := CanonicalServer(scheme + bare); got != c {
				t.Errorf("CanonicalServer(%q) = %q, want %q as for %q", scheme+bare, got, c, s)
			}
		}
		if strings.ContainsAny(c, " \t\n\r") {
			t.Errorf("canonical form %q has white space", c)
		}
	})
}

// FuzzDecodeIndex: decoding never panics, and what decodes saves and
// loads back to the same index.
func FuzzDecodeIndex(f *testing.F) {
	for _, s := range []string{
		`{"version":2,"registries":{}}`,
		`{"version":2,"stamp":"s","registries":{"docker.io":{"server":"https://index.docker.io/v1/","username":"alice"}}}`,
		`{"version":2,"registries":{"a.example:5000":{"server":"A.example:5000","username":"<token>","chunks":{"0123456789abcdef0123456789abcdef":3}}}}`,
		"regcred-index 1\nb.example \"old\" >\"new\"\n",
		"{}", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := decodeIndex(data)
		if err != nil {
			return
		}
		for _, s := range idx.legacy {
			if ValidateServerURL(s) != nil {
				t.Fatalf("legacy address %q is not valid", s)
			}
		}
		if len(idx.legacy) > 0 {
			return // never written back
		}
		enc := idx.encode()
		back, err := decodeIndex(enc)
		if err != nil {
			t.Fatalf("re-encoded index does not decode: %v\n%q", err, enc)
		}
		if !reflect.DeepEqual(back.list(), idx.list()) || back.Stamp != idx.Stamp || !bytes.Equal(back.encode(), enc) {
			t.Errorf("round trip differs:\n%#v\n%#v", idx, back)
		}
		// list's own decoder agrees with the full one.
		if l, ok := listIfCurrent(enc, idx.Stamp); idx.Stamp != "" && (!ok || !reflect.DeepEqual(l, idx.list())) {
			t.Errorf("listIfCurrent = %v, %v; decodeIndex lists %v", l, ok, idx.list())
		}
	})
}
