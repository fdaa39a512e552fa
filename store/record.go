package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/regcred/regcred/store/keyring"
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
	// probeAccount is looked up, never stored, to check the keyring answers.
	probeAccount = keyring.ProbeAccount
)

// itemVersion is the version of the items this code writes. Versions 1 and
// 2 are still read, and rewritten by migrate.
const itemVersion = 3

// errCorruptItem is returned when a keyring item does not decode.
var errCorruptItem = errors.New("keyring item is corrupt")

// slots are a registry's two chunk slots: a store writes the one its item
// does not point at, so the chunks get reads are never overwritten under it.
var slots = [2]string{"a", "b"}

// record is what a credential's item holds when it fits in one item. A is
// the address as the client stored it (absent in version 1).
type record struct {
	V int    `json:"v"`
	A string `json:"a,omitempty"`
	U string `json:"u"`
	S string `json:"s"`
}

// chunkHead is what the item holds when the record is split: the record's
// bytes are chunks 1..N of slot K, and H is their SHA-256, so chunks of two
// writes are never returned mixed. Version 1 and 2 heads name a random
// generation G instead of a slot.
type chunkHead struct {
	V int    `json:"v"`
	A string `json:"a,omitempty"`
	U string `json:"u,omitempty"`
	K string `json:"k,omitempty"`
	G string `json:"g,omitempty"`
	N int    `json:"n"`
	H string `json:"h"`
	// E marks the head of a credential being erased: its chunks go next,
	// then the item. Get finds no credential in it; doctor --fix finishes
	// an erase interrupted there.
	E bool `json:"e,omitempty"`
}

// errErasing marks an item an erase has begun on.
var errErasing = errors.New("this credential is being erased")

// item is a credential item's content: a record or the head of its chunks.
type item struct {
	rec  *record
	head *chunkHead
}

// label is what the keyring shows beside the item.
func (it item) label() keyring.Label {
	if it.head != nil {
		return keyring.Label{Server: it.head.A, User: it.head.U}
	}
	return keyring.Label{Server: it.rec.A, User: it.rec.U}
}

// version is the item's format version.
func (it item) version() int {
	if it.head != nil {
		return it.head.V
	}
	return it.rec.V
}

// slot is the chunk slot the item points at, or "".
func (it *item) slot() string {
	if it == nil || it.head == nil {
		return ""
	}
	return it.head.K
}

// encodeRecord serialises a credential.
func encodeRecord(server, username, secret string) ([]byte, error) {
	return marshalItem(record{V: itemVersion, A: server, U: username, S: secret})
}

// marshalItem is JSON in which no brace appears but the object's own: the
// ones inside its strings are written \u007b and \u007d, which decode the
// same. KeePassXC resolves placeholders such as {TITLE} or {REF:…} in what
// it hands back, so a secret holding one would come back changed (and a
// {REF} it cannot resolve hung its Secret Service).
func marshalItem(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) < 2 {
		return b, err
	}
	// Items are flat objects: every brace between the outer two is in a string.
	inner := bytes.ReplaceAll(bytes.ReplaceAll(b[1:len(b)-1], []byte("{"), []byte(`\u007b`)), []byte("}"), []byte(`\u007d`))
	return append(append([]byte{'{'}, inner...), '}'), nil
}

// decodeItem parses a credential item's content, of any version.
func decodeItem(data string) (item, error) {
	var probe struct {
		V int             `json:"v"`
		N json.RawMessage `json:"n"`
	}
	if err := json.Unmarshal([]byte(data), &probe); err != nil || probe.V < 1 || probe.V > itemVersion {
		return item{}, errCorruptItem
	}
	if probe.N != nil {
		var h chunkHead
		if err := json.Unmarshal([]byte(data), &h); err != nil || !h.valid() {
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

// valid checks a head names chunks this package could have written.
func (h *chunkHead) valid() bool {
	if h.N < 1 || h.N > maxChunks {
		return false
	}
	if h.V == itemVersion {
		return (h.K == slots[0] || h.K == slots[1]) && h.G == ""
	}
	return validGeneration(h.G) && h.K == ""
}

// chunkNames are the account names of the head's chunks, 1..N.
func (h *chunkHead) chunkNames(key string) []string {
	out := make([]string, h.N)
	for i := range out {
		if h.G != "" {
			out[i] = chunkPrefix + h.G + ":" + strconv.Itoa(i+1)
		} else {
			out[i] = chunkName(key, h.K, i+1)
		}
	}
	return out
}

// decodeRecord parses reassembled chunks and checks them against their head.
func decodeRecord(data []byte, head *chunkHead) (*record, error) {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != head.H {
		return nil, errChunksMixed
	}
	it, err := decodeItem(string(data))
	if err != nil || it.rec == nil {
		return nil, errCorruptItem
	}
	return it.rec, nil
}

// errChunksMixed marks chunks that are not the ones their head describes:
// a writer replaced them while they were read, or they are damaged.
var errChunksMixed = errors.New("the chunks of this credential do not match their head")

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

// newHead describes data split into n chunks in slot.
func newHead(server, username, slot string, data []byte, n int) chunkHead {
	sum := sha256.Sum256(data)
	return chunkHead{V: itemVersion, A: server, U: username, K: slot, N: n, H: hex.EncodeToString(sum[:])}
}

// chunkName is the account name of chunk i (1-based) in one of key's slots.
// It names the registry by a hash of its key, so that it stays short on
// every backend (Wine refuses target names over 247 characters).
func chunkName(key, slot string, i int) string {
	return chunkPrefix + keyHash(key) + ":" + slot + ":" + strconv.Itoa(i)
}

// keyHash is the first 128 bits of key's SHA-256, in hex.
func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// chunkAccount is a chunk item's account name, parsed: the key hash and
// slot for chunks this version writes, the generation for older ones.
type chunkAccount struct {
	hash, slot, gen string
	i               int
}

// parseChunk parses a chunk item's account name.
func parseChunk(account string) (chunkAccount, bool) {
	rest, ok := strings.CutPrefix(account, chunkPrefix)
	if !ok {
		return chunkAccount{}, false
	}
	f := strings.Split(rest, ":")
	n, err := strconv.Atoi(f[len(f)-1])
	if err != nil || n < 1 || n > maxChunks || !validGeneration(f[0]) {
		return chunkAccount{}, false
	}
	switch {
	case len(f) == 3 && (f[1] == slots[0] || f[1] == slots[1]):
		return chunkAccount{hash: f[0], slot: f[1], i: n}, true
	case len(f) == 2:
		return chunkAccount{gen: f[0], i: n}, true
	}
	return chunkAccount{}, false
}

// validGeneration reports whether s is 32 lowercase hex digits: a key hash,
// or the random generation older versions named chunk sets by.
func validGeneration(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// fitHead checks, before anything is written, that a head for this
// credential fits in one item: it repeats the address and username.
func fitHead(server, username string, limit int) error {
	h := newHead(server, username, slots[0], nil, maxChunks)
	b, err := marshalItem(h)
	if err != nil {
		return err
	}
	if len(b) > limit {
		return fmt.Errorf("the address and username take %d bytes, more than one keyring item holds here (%d; REGCRED_ITEM_LIMIT)", len(b), limit)
	}
	return nil
}
