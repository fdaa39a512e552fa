package helper

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"
)

// FuzzStoreInput: stdin decoding never panics, and whatever it accepts
// decodes as credentials the protocol package can use.
func FuzzStoreInput(f *testing.F) {
	for _, s := range []string{
		`{"ServerURL":"r.example","Username":"u","Secret":"s"}`,
		`{"ServerURL":"r.example","Username":"u","Secret":null}`,
		`{"serverurl":"r.example","USERNAME":"u"}`,
		`[1,2]`, `{`, "", "\x00", "\xff", `{"ServerURL":"a"} {}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		data, err := readInput(bytes.NewReader(in))
		if err != nil {
			return
		}
		if checkStoreInput(data) != nil {
			return
		}
		var c credentials.Credentials
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(&c); err != nil {
			t.Fatalf("accepted input does not decode: %q: %v", in, err)
		}
		_ = checkServerInput(data)
	})
}
