package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxChunks bounds how many items one credential may span.
const maxChunks = 1024

// minItemLimit is the smallest usable per-item limit: a chunk head must fit.
const minItemLimit = 256

// chunkPrefix starts the keyring account name of every chunk item. No valid
// registry address starts with it ("regcred-chunk:GEN" has a non-numeric
// port), so chunk items can never collide with credential items.
const chunkPrefix = "regcred-chunk:"

// ErrCorruptItem is returned when a keyring item does not decode.
var ErrCorruptItem = errors.New("keyring item is corrupt")

// record is what a credential's keyring item holds when it fits in one item.
type record struct {
	V int    `json:"v"`
	U string `json:"u"`
	S string `json:"s"`
}

// chunkHead is what the credential's item holds when the record is split:
// the record's bytes live in N items named chunkName(G, 1..N); H is their
// SHA-256, so a reassembly from mixed generations can never be returned.
type chunkHead struct {
	V int    `json:"v"`
	G string `json:"g"`
	N int    `json:"n"`
	H string `json:"h"`
}

// item is the decoded content of a credential's keyring item: either a
// whole record or the head of a chunk set.
type item struct {
	rec  *record
	head *chunkHead
}

// encodeRecord serialises a credential.
func encodeRecord(username, secret string) ([]byte, error) {
	return json.Marshal(record{V: 1, U: username, S: secret})
}

// decodeItem parses a credential item's content.
func decodeItem(data string) (item, error) {
	var probe struct {
		V int             `json:"v"`
		G json.RawMessage `json:"g"`
	}
	if err := json.Unmarshal([]byte(data), &probe); err != nil || probe.V != 1 {
		return item{}, ErrCorruptItem
	}
	if probe.G != nil {
		var h chunkHead
		if err := json.Unmarshal([]byte(data), &h); err != nil || !validGeneration(h.G) || h.N < 1 || h.N > maxChunks {
			return item{}, ErrCorruptItem
		}
		return item{head: &h}, nil
	}
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return item{}, ErrCorruptItem
	}
	return item{rec: &r}, nil
}

// decodeRecord parses a reassembled record and checks it against its head.
func decodeRecord(data []byte, head *chunkHead) (*record, error) {
	sum := sha256.Sum256(data)
	if head != nil && hex.EncodeToString(sum[:]) != head.H {
		return nil, fmt.Errorf("%w: chunks do not match their head", ErrCorruptItem)
	}
	it, err := decodeItem(string(data))
	if err != nil || it.rec == nil {
		return nil, ErrCorruptItem
	}
	return it.rec, nil
}

// SplitChunks cuts data into pieces of at most limit bytes, never inside a
// UTF-8 sequence (some backends store text, and a split rune would not
// survive the round trip).
func SplitChunks(data []byte, limit int) [][]byte {
	var out [][]byte
	for len(data) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(data[cut]) {
			cut--
		}
		if cut == 0 { // cannot happen for valid UTF-8 and limit >= 4
			cut = limit
		}
		out = append(out, data[:cut])
		data = data[cut:]
	}
	return append(out, data)
}

// JoinChunks is the inverse of SplitChunks.
func JoinChunks(chunks [][]byte) []byte {
	n := 0
	for _, c := range chunks {
		n += len(c)
	}
	out := make([]byte, 0, n)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out
}

// newHead describes data split into n chunks under a fresh generation.
func newHead(data []byte, n int) (*chunkHead, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("chunk generation: %w", err)
	}
	sum := sha256.Sum256(data)
	return &chunkHead{V: 1, G: hex.EncodeToString(b[:]), N: n, H: hex.EncodeToString(sum[:])}, nil
}

// chunkName is the keyring account name of chunk i (1-based) of generation gen.
func chunkName(gen string, i int) string {
	return chunkPrefix + gen + ":" + strconv.Itoa(i)
}

// validGeneration reports whether gen looks like a generation newHead makes.
func validGeneration(gen string) bool {
	if len(gen) != 32 {
		return false
	}
	_, err := hex.DecodeString(gen)
	return err == nil && strings.ToLower(gen) == gen
}
