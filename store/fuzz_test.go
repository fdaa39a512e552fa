package store

import (
	"reflect"
	"slices"
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

// FuzzDecodeIndex: decoding never panics, what decodes encodes back to the
// same index, and list's parser (decodeUsernames) agrees with DecodeIndex.
func FuzzDecodeIndex(f *testing.F) {
	for _, s := range []string{
		"regcred-index 1\n",
		"regcred-index 1\na.example \"alice\"\n",
		"regcred-index 1\na.example:5000 \"<token>\" 0123456789abcdef0123456789abcdef:3\n",
		"regcred-index 1\nb.example \"old\" >\"new\"\n",
		"regcred-index 1\nb.example \"sp ace\\\"q\" >\"x y\" 0123456789abcdef0123456789abcdef:1\n",
		"{}", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := DecodeIndex(data)
		users, pending, lerr := decodeUsernames(string(data))
		if (err == nil) != (lerr == nil) {
			t.Fatalf("DecodeIndex: %v, but decodeUsernames: %v (%q)", err, lerr, data)
		}
		if err != nil {
			return
		}
		want := map[string]string{}
		var wantPending []string
		for s, e := range idx.Entries {
			want[s] = e.Username
			if e.Pending != nil {
				wantPending = append(wantPending, s)
			}
		}
		slices.Sort(pending)
		slices.Sort(wantPending)
		if !reflect.DeepEqual(users, want) || !slices.Equal(pending, wantPending) {
			t.Fatalf("decodeUsernames = %v, %v; DecodeIndex says %v, %v (%q)", users, pending, want, wantPending, data)
		}
		enc, err := idx.Encode()
		if err != nil {
			t.Fatalf("decoded index does not encode: %v (%q)", err, data)
		}
		back, err := DecodeIndex(enc)
		if err != nil {
			t.Fatalf("re-encoded index does not decode: %v\n%q", err, enc)
		}
		if !reflect.DeepEqual(back, idx) {
			t.Errorf("round trip differs:\n%#v\n%#v", idx, back)
		}
	})
}
