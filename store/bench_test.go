package store

import (
	"fmt"
	"strings"
	"testing"
)

func benchIndex(n int) *Index {
	idx := newIndex()
	for i := range n {
		idx.Entries[fmt.Sprintf("https://registry-%04d.example.com:5000", i)] = &Entry{Username: fmt.Sprintf("user%d", i)}
	}
	return idx
}

func BenchmarkCanonicalServer(b *testing.B) {
	for b.Loop() {
		CanonicalServer("HTTPS://Registry-1.Docker.IO/v2/")
	}
}

func BenchmarkResolve(b *testing.B) {
	for _, n := range []int{10, 1000} {
		idx := benchIndex(n)
		b.Run(fmt.Sprintf("exact/%d", n), func(b *testing.B) {
			for b.Loop() {
				idx.Resolve("https://registry-0007.example.com:5000")
			}
		})
		b.Run(fmt.Sprintf("equivalent/%d", n), func(b *testing.B) {
			for b.Loop() {
				idx.Resolve("registry-0007.example.com:5000")
			}
		})
	}
}

func BenchmarkIndexCodec(b *testing.B) {
	for _, n := range []int{10, 1000} {
		idx := benchIndex(n)
		data, _ := idx.Encode()
		b.Run(fmt.Sprintf("encode/%d", n), func(b *testing.B) {
			for b.Loop() {
				_, _ = idx.Encode()
			}
		})
		b.Run(fmt.Sprintf("decode/%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = DecodeIndex(data)
			}
		})
	}
}

func BenchmarkChunks(b *testing.B) {
	data := []byte(strings.Repeat("0123456789abcdef", 6<<10/16))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		JoinChunks(SplitChunks(data, 512))
	}
}
