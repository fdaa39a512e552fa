package address

import (
	"errors"
	"strings"
	"testing"
)

func TestCanonicalServerEquivalence(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"example.com", "https://example.com", true},
		{"example.com", "http://example.com", true},
		{"example.com", "HTTPS://Example.COM/", true},
		{"example.com", "example.com/", true},
		{"example.com", "https://example.com/v2/", true},
		{"example.com", "https://example.com/v1/", true},
		{"example.com:5000", "example.com", false},
		{"example.com:5000", "example.com:5001", false},
		{"example.com:443", "example.com", false},
		{"[::1]:5000", "http://[::1]:5000/", true},
		{"[::1]:5000", "[::1]:5001", false},
		{"127.0.0.1:5000", "localhost:5000", false},
		{DockerHub, "docker.io", true},
		{DockerHub, "index.docker.io", true},
		{DockerHub, "registry-1.docker.io", true},
		{DockerHub, "https://registry-1.docker.io/v2/", true},
		{DockerHub, "https://index.docker.io/v1", true},
		{DockerHub, "https://index.docker.io/v1/access-token", false},
		{DockerHub, "https://index.docker.io/v1/refresh-token", false},
		{"https://index.docker.io/v1/access-token", "https://index.docker.io/v1/refresh-token", false},
		{"ghcr.io", "ghcr.io/org", false},
		{"ghcr.io/org", "https://ghcr.io/org/", true},
		{"  example.com  ", "example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.a+"~"+tt.b, func(t *testing.T) {
			ca, cb := Canonical(tt.a), Canonical(tt.b)
			if (ca == cb) != tt.same {
				t.Errorf("Canonical(%q)=%q, Canonical(%q)=%q; want same=%v", tt.a, ca, tt.b, cb, tt.same)
			}
		})
	}
}

func TestValidateServerURL(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"example.com", true},
		{"https://example.com", true},
		{"http://example.com:5000/", true},
		{"127.0.0.1:5000", true},
		{"[::1]:5000", true},
		{"https://[::1]:5000/v2/", true},
		{DockerHub, true},
		{"https://index.docker.io/v1/access-token", true},
		{"ghcr.io/org/repo", true},
		{"ghcr.io/org/%7Brepo%7D", true},
		{"ghcr.io/org/{TITLE}", false},
		{"r.example/{REF:U@I:00000000000000000000000000000001}", false},
		{"r}.example", false},
		{"", false},
		{"   ", false},
		{"exa mple.com", false},
		{"example.com\n", false},
		{"example.com\r\nx", false},
		{"example.com\x00", false},
		{"example.com\x1b[31m", false},
		{"https://alice:pw@example.com", false},
		{"alice@example.com", false},
		{"ftp://example.com", false},
		{"https://https://example.com", false},
		{"example.com:", false},
		{"example.com:abc", false},
		{"example.com:0", false},
		{"example.com:65536", false},
		{":5000", false},
		{"https://", false},
		{"/path", false},
		{"[::1", false},
		{"[nothost]:5000", false},
		{"[::1]x", false},
		{"regcred-chunk:0123456789abcdef0123456789abcdef:1", false},
		{"\xff\xfe", false},
		{string(make([]byte, MaxLen+1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := Validate(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestValidateServerURLNeverEchoesUserinfo(t *testing.T) {
	err := Validate("https://alice:hunter2@example.com")
	if err == nil {
		t.Fatal("accepted userinfo")
	}
	for _, leak := range []string{"hunter2", "alice"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error %q leaks %q", err, leak)
		}
	}
}
