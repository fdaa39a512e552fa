package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/regcred/regcred/store/keyring"
)

func TestSplitChunks(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		limit int
		parts int
	}{
		{"fits", "abc", 4, 1},
		{"exact", "abcd", 4, 1},
		{"one over", "abcde", 4, 2},
		{"6KiB at 512", strings.Repeat("x", 6<<10), 512, 12},
		{"multibyte never split", strings.Repeat("é€😀", 300), 7, 0},
		{"empty", "", 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := splitChunks([]byte(tt.data), tt.limit)
			if tt.parts != 0 && len(parts) != tt.parts {
				t.Errorf("got %d parts, want %d", len(parts), tt.parts)
			}
			for i, p := range parts {
				if len(p) > tt.limit {
					t.Errorf("part %d has %d bytes, over the limit %d", i, len(p), tt.limit)
				}
				if !utf8.Valid(p) {
					t.Errorf("part %d splits a UTF-8 sequence: %q", i, p)
				}
			}
			if got := bytes.Join(parts, nil); !bytes.Equal(got, []byte(tt.data)) {
				t.Errorf("join(split(x)) != x")
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, c := range []struct{ user, secret string }{
		{"alice", "wonderland"},
		{"<token>", "eyJhbGciOi.identity.token"},
		{"bob", ""},
		{"ünï", "pa:ss\"word\\\n\t€"},
	} {
		data, err := encodeRecord("Reg.example:5000", c.user, c.secret)
		if err != nil {
			t.Fatal(err)
		}
		it, err := decodeItem(string(data))
		if err != nil || it.rec == nil {
			t.Fatalf("decodeItem(%s) = %+v, %v", data, it, err)
		}
		want := keyring.Label{Server: "Reg.example:5000", User: c.user}
		if it.rec.S != c.secret || it.label() != want || it.version() != itemVersion || (ItemFormat{}).LabelOf(string(data)) != want {
			t.Errorf("round trip of %q/%q gave %+v", c.user, c.secret, it.rec)
		}
	}
}

// TestItemsHoldNoPlaceholder: an item holds no brace but its JSON object's
// own, whatever the credential (KeePassXC resolves {…} placeholders), and
// reads back byte for byte.
func TestItemsHoldNoPlaceholder(t *testing.T) {
	for _, c := range []struct{ server, user, secret string }{
		{"r.example", "{USERNAME}", "{TITLE} {REF:U@I:0123} {S:x} }{ {{"},
		{"r.example", "u", `{"v":3,"s":"x"}`},
	} {
		data, err := encodeRecord(c.server, c.user, c.secret)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(string(data), "{") != 1 || strings.Count(string(data), "}") != 1 || data[0] != '{' || data[len(data)-1] != '}' {
			t.Errorf("item %s holds a brace inside", data)
		}
		it, err := decodeItem(string(data))
		if err != nil || it.rec.U != c.user || it.rec.S != c.secret {
			t.Errorf("round trip of %q/%q: %+v, %v", c.user, c.secret, it.rec, err)
		}
		h, err := marshalItem(newHead(c.server, c.user, "a", data, 2))
		if err != nil || strings.Count(string(h), "{") != 1 {
			t.Errorf("head %s holds a brace inside (%v)", h, err)
		}
	}
}

func TestDecodeItemRejectsCorrupt(t *testing.T) {
	for _, in := range []string{"", "plain password", "{}", `{"v":4,"u":"a","s":"b"}`, `[1]`,
		`{"v":1,"g":"short","n":1,"h":""}`, `{"v":1,"g":"0123456789abcdef0123456789abcdef","n":0,"h":""}`,
		`{"v":3,"k":"c","n":1,"h":""}`, `{"v":3,"g":"0123456789abcdef0123456789abcdef","n":1,"h":""}`,
		`{"v":2,"k":"a","n":1,"h":""}`} {
		if _, err := decodeItem(in); !errors.Is(err, errCorruptItem) {
			t.Errorf("decodeItem(%q) = %v, want errCorruptItem", in, err)
		}
	}
}

func TestDecodeRecordChecksHead(t *testing.T) {
	data, _ := encodeRecord("a.example", "alice", "secret")
	head := newHead("a.example", "alice", "b", data, 1)
	if _, err := decodeRecord(data, &head); err != nil {
		t.Fatalf("valid chunks rejected: %v", err)
	}
	if head.A != "a.example" || head.U != "alice" || head.K != "b" {
		t.Errorf("the head does not name its address, username and slot: %+v", head)
	}
	other, _ := encodeRecord("a.example", "alice", "secreT")
	if _, err := decodeRecord(other, &head); !errors.Is(err, errChunksMixed) {
		t.Errorf("mixed chunks accepted: %v", err)
	}
	enc, _ := json.Marshal(head)
	if it, err := decodeItem(string(enc)); err != nil || it.slot() != "b" {
		t.Errorf("head round trip: %+v, %v", it.head, err)
	}
}

func TestChunkNames(t *testing.T) {
	h := chunkHead{V: itemVersion, K: "a", N: 2}
	names := h.chunkNames("Docker.io")
	if len(names) != 2 || names[1] != chunkName("Docker.io", "a", 2) {
		t.Fatalf("chunkNames = %q", names)
	}
	for _, name := range names {
		c, ok := parseChunk(name)
		if !ok || c.hash != keyHash("Docker.io") || c.slot != "a" || len(name) > 60 {
			t.Errorf("parseChunk(%q) = %+v, %v (and it must stay short for Wine)", name, c, ok)
		}
	}
	old := chunkHead{V: 2, G: "0123456789abcdef0123456789abcdef", N: 1}
	if got := old.chunkNames("x"); got[0] != chunkPrefix+"0123456789abcdef0123456789abcdef:1" {
		t.Errorf("version 2 chunk name = %q", got[0])
	}
	if c, ok := parseChunk(old.chunkNames("x")[0]); !ok || c.gen != old.G {
		t.Errorf("version 2 chunk name parsed as %+v, %v", c, ok)
	}
	for _, bad := range []string{"docker.io", chunkPrefix + "x:a:1", chunkPrefix + keyHash("k") + ":c:1", chunkPrefix + keyHash("k") + ":a:0"} {
		if _, ok := parseChunk(bad); ok {
			t.Errorf("parseChunk(%q) accepted it", bad)
		}
	}
}

func TestDecodeItemReadsOlderVersions(t *testing.T) {
	// Items older versions wrote must still be read, so they can be migrated.
	it, err := decodeItem(`{"v":1,"u":"alice","s":"pw"}`)
	if err != nil || it.rec == nil || it.label() != (keyring.Label{User: "alice"}) || it.version() != 1 {
		t.Errorf("version 1 record: %+v, %v", it.rec, err)
	}
	it, err = decodeItem(`{"v":2,"a":"x.example","u":"u","g":"0123456789abcdef0123456789abcdef","n":2,"h":"x"}`)
	if err != nil || it.head == nil || it.head.G != "0123456789abcdef0123456789abcdef" || it.slot() != "" {
		t.Errorf("version 2 head: %+v, %v", it.head, err)
	}
	if (ItemFormat{}).LabelOf(`{"v":2,"a":"x.example","u":"u","s":"s"}`) != (keyring.Label{}) {
		t.Error("an older version's item has a label of this version")
	}
}

func TestLabelText(t *testing.T) {
	for _, l := range []keyring.Label{
		{Server: "ghcr.io", User: "alice"},
		{Server: "https://index.docker.io/v1/", User: "bob (admin)"},
		{Server: "[::1]:5000", User: "a)"},
		{Server: "r.example", User: "x (y) z\n"},
	} {
		if got := keyring.ParseLabel(l.String()); got != l {
			t.Errorf("parseLabel(%q) = %+v, want %+v", l.String(), got, l)
		}
	}
	for _, s := range []string{"", "Password for 'docker.io' on 'docker-credential-regcred'",
		"Registry credentials for " + "a b (c)", "Registry credentials for " + "a.example ()", "Registry credentials for " + "a.example (c", keyring.LabelText("regcred-chunk:x", keyring.Label{})} {
		if got := keyring.ParseLabel(s); got != (keyring.Label{}) {
			t.Errorf("parseLabel(%q) = %+v, want none", s, got)
		}
	}
}

func TestLegacyIndexNames(t *testing.T) {
	tests := []struct{ data, want string }{
		{"regcred-index 1\nBig.Example \"aws\" 0123:2\nhttps://index.docker.io/v1/ \"hub\"\n", "Big.Example https://index.docker.io/v1/"},
		{"regcred-index 2 -\ndocker.io \"https://index.docker.io/v1/\" \"hub\"\nr.example:5000 \"R.example:5000\" \"u\" @0123:1\n", "docker.io r.example:5000"},
		{"regcred-index 2 abc\nbad:port x\n", ""},
		{"{}", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := strings.Join(legacyIndexNames(tt.data), " "); got != tt.want {
			t.Errorf("legacyIndexNames(%q) = %q, want %q", tt.data, got, tt.want)
		}
	}
}

func TestFitHead(t *testing.T) {
	if err := fitHead("r.example", "u", 256); err != nil {
		t.Errorf("a short head does not fit 256 bytes: %v", err)
	}
	err := fitHead("r.example", strings.Repeat("u", 2600), keyring.CredentialManagerItemLimit)
	if err == nil || !strings.Contains(err.Error(), "REGCRED_ITEM_LIMIT") {
		t.Errorf("a head over the limit: %v", err)
	}
}
