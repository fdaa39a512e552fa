package address

import (
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
		c := Canonical(s)
		if Validate(s) != nil {
			return
		}
		if again := Canonical(c); again != c {
			t.Errorf("Canonical(%q) = %q, but of that %q", s, c, again)
		}
		bare := trimScheme(s)
		for _, scheme := range []string{"https://", "http://"} {
			if got := Canonical(scheme + bare); got != c {
				t.Errorf("Canonical(%q) = %q, want %q as for %q", scheme+bare, got, c, s)
			}
		}
		if strings.ContainsAny(c, " \t\n\r") {
			t.Errorf("canonical form %q has white space", c)
		}
	})
}
