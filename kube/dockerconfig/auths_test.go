package dockerconfig

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

// TestMergeKeepsEverySpelling (issue 29, point 5): a Secret holding one
// registry under two spellings keeps both through an export of another
// registry (it lost one, chosen by map order); an export of that registry
// replaces both.
func TestMergeKeepsEverySpelling(t *testing.T) {
	e := func(s string) json.RawMessage { return json.RawMessage(s) }
	existing := Auths{"https://quay.io": e(`{"auth":"YTpi"}`), "quay.io/": e(`{"auth":"Yzpk"}`)}
	for range 20 { // map order varies from run to run
		got, _ := Merge(existing, Auths{"ghcr.io": e(`{"auth":"eDp5"}`)}, false)
		if len(got) != 3 || string(got["https://quay.io"]) != `{"auth":"YTpi"}` || string(got["quay.io/"]) != `{"auth":"Yzpk"}` {
			t.Fatalf("an unrelated export kept %v", got)
		}
	}
	got, changes := Merge(existing, Auths{"quay.io": e(`{"auth":"bmV3OnB3"}`)}, false)
	if len(got) != 1 || string(got["quay.io"]) != `{"auth":"bmV3OnB3"}` || !slices.Equal(changes, []Change{{"quay.io", Update}}) {
		t.Errorf("an export of that registry: %v, %v", got, changes)
	}
}

// TestWithAuths (issue 29, point 7): the fields of a .dockerconfigjson
// other than auths — credHelpers, HttpHeaders, proxies — go back as they
// were; content that does not parse gives the auths alone.
func TestWithAuths(t *testing.T) {
	a := Auths{"ghcr.io": json.RawMessage(`{"auth":"eDp5"}`)}
	tests := []struct{ original, want string }{
		{"", `{"auths":{"ghcr.io":{"auth":"eDp5"}}}`},
		{"not json", `{"auths":{"ghcr.io":{"auth":"eDp5"}}}`},
		{`{"auths":{"old.example":{}}}`, `{"auths":{"ghcr.io":{"auth":"eDp5"}}}`},
		{`{"credHelpers":{"gcr.io":"gcloud"},"auths":{},"HttpHeaders":{"User-Agent":"kaniko"},"proxies":{"default":{"httpProxy":"http://p:3128"}}}`,
			`{"HttpHeaders":{"User-Agent":"kaniko"},"auths":{"ghcr.io":{"auth":"eDp5"}},"credHelpers":{"gcr.io":"gcloud"},"proxies":{"default":{"httpProxy":"http://p:3128"}}}`},
	}
	for _, tt := range tests {
		got, err := WithAuths([]byte(tt.original), a)
		if err != nil || string(got) != tt.want {
			t.Errorf("WithAuths(%q) = %s, %v; want %s", tt.original, got, err, tt.want)
		}
	}
}
