package kube

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestMerge: ours replace entries with the same Secret key however spelt;
// every other entry is kept byte for byte, or removed with prune.
func TestMerge(t *testing.T) {
	e := func(s string) json.RawMessage { return json.RawMessage(s) }
	existing := Auths{
		"Reg.Example.com": e(`{"auth":"b2xk"}`),
		"quay.io":         e(`{"username":"q","password":"p","identitytoken":"kept-as-is"}`),
		"ghcr.io":         e(`{"auth":"c2FtZQ=="}`),
	}
	ours := Auths{
		"reg.example.com": e(`{"auth":"bmV3"}`),
		"ghcr.io":         e(`{"auth":"c2FtZQ=="}`),
		"new.example":     e(`{"auth":"eA=="}`),
	}
	tests := []struct {
		prune   bool
		keys    []string
		changes []Change
	}{
		{false, []string{"ghcr.io", "new.example", "quay.io", "reg.example.com"},
			[]Change{{"ghcr.io", Same}, {"new.example", Add}, {"quay.io", Keep}, {"reg.example.com", Update}}},
		{true, []string{"ghcr.io", "new.example", "reg.example.com"},
			[]Change{{"ghcr.io", Same}, {"new.example", Add}, {"quay.io", Remove}, {"reg.example.com", Update}}},
	}
	for _, tt := range tests {
		got, changes := Merge(existing, ours, tt.prune)
		var keys []string
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.keys) {
			t.Errorf("prune %v: keys %v, want %v", tt.prune, keys, tt.keys)
		}
		if !tt.prune && string(got["quay.io"]) != string(existing["quay.io"]) {
			t.Errorf("a kept entry changed: %s", got["quay.io"])
		}
		if string(got["reg.example.com"]) != `{"auth":"bmV3"}` {
			t.Errorf("ours not written: %s", got["reg.example.com"])
		}
		if !slices.Equal(changes, tt.changes) {
			t.Errorf("prune %v: changes %v, want %v", tt.prune, changes, tt.changes)
		}
	}
}
