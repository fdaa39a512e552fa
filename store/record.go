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

// Reserved keyring account names. None is a valid registry address (each has
// a non-numeric "port"), so none can collide with a credential's item.
const (
	// chunkPrefix starts the account name of every chunk item.
	chunkPrefix = "regcred-chunk:"
	// stampAccount is the item whose value changes whenever what list
	// shows changes (see Store.List).
	stampAccount = "regcred:stamp"
	// probeAccount is looked up, never stored, to check the keyring answers.
	probeAccount = "regcred:probe"
)

// recordVersion is the version of the items this code writes. Version 1
// items (keyed by the address as typed, without the address inside) are
// read, and rewritten as version 2 by the next repair (see migrate).
const recordVersion = 2

// errCorruptItem is returned when a keyring item does not decode.
var errCorruptItem = errors.New("keyring item is corrupt")

// record is what a credential's keyring item holds when it fits in one item.
// A is the address as the client stored it, so that the keyring alone can
// answer list after the index is lost.
type record struct {
	V int    `json:"v"`
	A string `json:"a,omitempty"`
	U string `json:"u"`
	S string `json:"s"`
}

// chunkHead is what the credential's item holds when the record is split:
// the record's bytes live in N items named chunkName(G, 1..N); H is their
// SHA-256, so a reassembly from mixed generations can never be returned.
// A and U repeat the record's address and username, so listing never needs
// the chunks.
type chunkHead struct {
	V int    `json:"v"`
	A string `json:"a,omitempty"`
	U string `json:"u,omitempty"`
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

// server and user are the item's address and username ("" in a version 1
// head, which does not carry them).
func (it item) server() string {
	if it.head != nil {
		return it.head.A
	}
	return it.rec.A
}

func (it item) user() string {
	if it.head != nil {
		return it.head.U
	}
	return it.rec.U
}

// version is the item's format version.
func (it item) version() int {
	if it.head != nil {
		return it.head.V
	}
	return it.rec.V
}

// gen is the chunk generation the item points at, or "".
func (it item) gen() string {
	if it.head != nil {
		return it.head.G
	}
	return ""
}

// encodeRecord serialises a credential.
func encodeRecord(server, username, secret string) ([]byte, error) {
	return json.Marshal(record{V: recordVersion, A: server, U: username, S: secret})
}

// decodeItem parses a credential item's content.
func decodeItem(data string) (item, error) {
	var probe struct {
		V int             `json:"v"`
		G json.RawMessage `json:"g"`
	}
	if err := json.Unmarshal([]byte(data), &probe); err != nil || (probe.V != 1 && probe.V != recordVersion) {
		return item{}, errCorruptItem
	}
	if probe.G != nil {
		var h chunkHead
		if err := json.Unmarshal([]byte(data), &h); err != nil || !validGeneration(h.G) || h.N < 1 || h.N > maxChunks {
			return item{}, errCorruptItem
		}
		return item{head: &h}, nil
	}
	var r record
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return item{}, errCorruptItem
	}
	return item{rec: &r}, nil
}

// decodeRecord parses a reassembled record and checks it against its head.
func decodeRecord(data []byte, head *chunkHead) (*record, error) {
	sum := sha256.Sum256(data)
	if head != nil && hex.EncodeToString(sum[:]) != head.H {
		return nil, fmt.Errorf("%w: chunks do not match their head", errCorruptItem)
	}
	it, err := decodeItem(string(data))
	if err != nil || it.rec == nil {
		return nil, errCorruptItem
	}
	return it.rec, nil
}

// splitChunks cuts data into pieces of at most limit bytes, never inside a
// UTF-8 sequence (some backends store text, and a split rune would not
// survive the round trip).
func splitChunks(data []byte, limit int) [][]byte {
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

// joinChunks is the inverse of splitChunks.
func joinChunks(chunks [][]byte) []byte {
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
func newHead(server, username string, data []byte, n int) (*chunkHead, error) {
	g, err := randomHex()
	if err != nil {
		return nil, fmt.Errorf("chunk generation: %w", err)
	}
	sum := sha256.Sum256(data)
	return &chunkHead{V: recordVersion, A: server, U: username, G: g, N: n, H: hex.EncodeToString(sum[:])}, nil
}

// randomHex is 16 random bytes in lowercase hex.
func randomHex() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// chunkName is the keyring account name of chunk i (1-based) of generation gen.
func chunkName(gen string, i int) string {
	return chunkPrefix + gen + ":" + strconv.Itoa(i)
}

// chunkGen returns the generation a chunk account belongs to.
func chunkGen(account string) (string, bool) {
	rest, ok := strings.CutPrefix(account, chunkPrefix)
	if !ok {
		return "", false
	}
	gen, _, ok := strings.Cut(rest, ":")
	return gen, ok && validGeneration(gen)
}

// validGeneration reports whether gen looks like a generation newHead makes.
func validGeneration(gen string) bool {
	if len(gen) != 32 {
		return false
	}
	_, err := hex.DecodeString(gen)
	return err == nil && strings.ToLower(gen) == gen
}
