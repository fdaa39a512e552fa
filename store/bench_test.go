package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func benchIndex(n int) *index {
	idx := newIndex()
	for i := range n {
		s := fmt.Sprintf("https://registry-%04d.example.com:5000", i)
		idx.setCredential(keyFor(s), entry{Server: s, Username: fmt.Sprintf("user%d", i)})
	}
	return idx
}

func BenchmarkCanonicalServer(b *testing.B) {
	for b.Loop() {
		CanonicalServer("HTTPS://Registry-1.Docker.IO/v2/")
	}
}

// BenchmarkIndexList is list's own work on a current index: read the
// file, decode it, build the answer.
func BenchmarkIndexList(b *testing.B) {
	for _, n := range []int{10, 1000} {
		path := filepath.Join(b.TempDir(), "index.json")
		idx := benchIndex(n)
		idx.Stamp = "0123456789abcdef0123456789abcdef"
		if err := idx.save(path); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				data, err := os.ReadFile(path)
				if l, ok := listIfCurrent(data, idx.Stamp); err != nil || !ok || len(l) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkChunks(b *testing.B) {
	data := []byte(strings.Repeat("0123456789abcdef", 6<<10/16))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		joinChunks(splitChunks(data, 512))
	}
}
