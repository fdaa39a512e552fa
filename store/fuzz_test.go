package store

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

// FuzzItem: decoding an item never panics; every item that decodes as a
// record of this version re-encodes to an item with the same label and
// secret, and its label survives the Secret Service label text.
func FuzzItem(f *testing.F) {
	head := newHead("R.example:5000", "<token>", "b", []byte("x"), 3)
	enc, _ := json.Marshal(head)
	rec, _ := encodeRecord("https://index.docker.io/v1/", "alice", "s3cret")
	for _, s := range []string{
		string(rec), string(enc), // this version's record and head
		`{"v":3,"a":"[::1]:5000","u":"x (y)","s":"{TITLE}"}`,
		`{"v":2,"a":"r.example","u":"u","g":"0123456789abcdef0123456789abcdef","n":2,"h":"x"}`, // older versions
		`{"v":1,"u":"alice","s":"pw"}`, "", "{}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		it, err := decodeItem(data)
		if err != nil || it.rec == nil || it.version() != itemVersion {
			return
		}
		again, err := encodeRecord(it.rec.A, it.rec.U, it.rec.S)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeItem(string(again))
		if err != nil || back.label() != it.label() || back.rec.S != it.rec.S {
			t.Errorf("re-encoded %q as %q: %+v, %v", data, again, back.rec, err)
		}
		l := it.label()
		if address.Validate(l.Server) == nil && l.User != "" && utf8.ValidString(l.User) {
			// A label holding a brace is written so that it reads back as
			// nothing (list then reads the item): never as another label.
			want := l
			if !l.Plain() {
				want = keyring.Label{}
			}
			if got := keyring.ParseLabel(l.String()); got != want {
				t.Errorf("label %+v reads back as %+v, want %+v", l, got, want)
			}
		}
	})
}
