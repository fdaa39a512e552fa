package store

import (
	"bytes"
	"strings"
	"testing"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

func BenchmarkCanonicalServer(b *testing.B) {
	for b.Loop() {
		address.Canonical("HTTPS://Registry-1.Docker.IO/v2/")
	}
}

func BenchmarkChunks(b *testing.B) {
	data := []byte(strings.Repeat("0123456789abcdef", 6<<10/16))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		bytes.Join(splitChunks(data, 512), nil)
	}
}

// BenchmarkParseLabel is list's own work per item on the Secret Service.
func BenchmarkParseLabel(b *testing.B) {
	text := keyring.Label{Server: "https://registry-0042.example.com:5000", User: "user42"}.String()
	for b.Loop() {
		keyring.ParseLabel(text)
	}
}
