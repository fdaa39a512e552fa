package testenv

import (
	"archive/tar"
	"bytes"
	"os"
	"testing"

	"github.com/regcred/regcred/testenv/launch"
)

// StartRegistry starts docker-registry with the given users (name →
// password) on a free loopback port and stops it when the test ends.
// Passwords reach htpasswd on stdin, never in argv.
func StartRegistry(tb testing.TB, users map[string]string) *launch.Registry {
	tb.Helper()
	Require(tb, "docker-registry", "htpasswd")
	r, err := launch.NewRegistry(tb.TempDir(), users)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	return r
}

// FreeAddr is launch.FreeAddr for a test, which fails when none is free.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	a := launch.FreeAddr()
	if a == "" {
		tb.Fatal("no free loopback port")
	}
	return a
}

// WriteLayer writes a one-file tar, to push as a private image's layer.
func WriteLayer(tb testing.TB, path string) {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("hello from a private image\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(body))}); err != nil {
		tb.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
}
