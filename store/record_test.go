package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitJoinChunks(t *testing.T) {
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
			parts := SplitChunks([]byte(tt.data), tt.limit)
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
			if got := JoinChunks(parts); !bytes.Equal(got, []byte(tt.data)) {
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
		data, err := encodeRecord(c.user, c.secret)
		if err != nil {
			t.Fatal(err)
		}
		it, err := decodeItem(string(data))
		if err != nil || it.rec == nil {
			t.Fatalf("decodeItem(%s) = %+v, %v", data, it, err)
		}
		if it.rec.U != c.user || it.rec.S != c.secret {
			t.Errorf("round trip of %q/%q gave %q/%q", c.user, c.secret, it.rec.U, it.rec.S)
		}
	}
}

func TestDecodeItemRejectsCorrupt(t *testing.T) {
	for _, in := range []string{"", "plain password", "{}", `{"v":2,"u":"a","s":"b"}`, `{"v":1,"g":"short","n":1,"h":""}`, `{"v":1,"g":"0123456789abcdef0123456789abcdef","n":0,"h":""}`, `[1]`} {
		if _, err := decodeItem(in); !errors.Is(err, ErrCorruptItem) {
			t.Errorf("decodeItem(%q) = %v, want ErrCorruptItem", in, err)
		}
	}
}

func TestDecodeRecordChecksHead(t *testing.T) {
	data, _ := encodeRecord("alice", "secret")
	head, err := newHead(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRecord(data, head); err != nil {
		t.Fatalf("valid chunks rejected: %v", err)
	}
	other, _ := encodeRecord("alice", "secreT")
	if _, err := decodeRecord(other, head); !errors.Is(err, ErrCorruptItem) {
		t.Errorf("mixed chunks accepted: %v", err)
	}
	if !validGeneration(head.G) {
		t.Errorf("newHead made an invalid generation %q", head.G)
	}
}
