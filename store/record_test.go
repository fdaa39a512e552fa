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
			if got := joinChunks(parts); !bytes.Equal(got, []byte(tt.data)) {
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
		if it.rec.U != c.user || it.rec.S != c.secret || it.server() != "Reg.example:5000" || it.version() != recordVersion {
			t.Errorf("round trip of %q/%q gave %+v", c.user, c.secret, it.rec)
		}
	}
}

func TestDecodeItemRejectsCorrupt(t *testing.T) {
	for _, in := range []string{"", "plain password", "{}", `{"v":3,"u":"a","s":"b"}`, `{"v":1,"g":"short","n":1,"h":""}`, `{"v":1,"g":"0123456789abcdef0123456789abcdef","n":0,"h":""}`, `[1]`} {
		if _, err := decodeItem(in); !errors.Is(err, errCorruptItem) {
			t.Errorf("decodeItem(%q) = %v, want ErrCorruptItem", in, err)
		}
	}
}

func TestDecodeRecordChecksHead(t *testing.T) {
	data, _ := encodeRecord("a.example", "alice", "secret")
	head, err := newHead("a.example", "alice", data, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeRecord(data, head); err != nil {
		t.Fatalf("valid chunks rejected: %v", err)
	}
	if head.A != "a.example" || head.U != "alice" {
		t.Errorf("the head does not name its address and username: %+v", head)
	}
	other, _ := encodeRecord("a.example", "alice", "secreT")
	if _, err := decodeRecord(other, head); !errors.Is(err, errCorruptItem) {
		t.Errorf("mixed chunks accepted: %v", err)
	}
	if !validGeneration(head.G) {
		t.Errorf("newHead made an invalid generation %q", head.G)
	}
}

func TestDecodeItemReadsVersion1(t *testing.T) {
	// Items written before version 2 carry no address; they must still be
	// read, so that they can be migrated.
	it, err := decodeItem(`{"v":1,"u":"alice","s":"pw"}`)
	if err != nil || it.rec == nil || it.user() != "alice" || it.server() != "" || it.version() != 1 {
		t.Errorf("version 1 record: %+v, %v", it.rec, err)
	}
	it, err = decodeItem(`{"v":1,"g":"0123456789abcdef0123456789abcdef","n":2,"h":"x"}`)
	if err != nil || it.head == nil || it.gen() != "0123456789abcdef0123456789abcdef" {
		t.Errorf("version 1 head: %+v, %v", it.head, err)
	}
}
