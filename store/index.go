package store

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/regcred/regcred/internal/atomicfile"
)

// indexHeader starts the index file, followed by a space and the stamp
// ("-" for none).
const indexHeader = "regcred-index 2"

// legacyHeader starts a version 1 index, whose entries name keyring items
// by the address as typed (see migrate).
const legacyHeader = "regcred-index 1\n"

// errCorruptIndex is returned when the index file cannot be decoded.
var errCorruptIndex = errors.New("index is corrupt")

// index is the index file: a cache of what list shows, so that listing
// reads no keyring item, plus the chunk sets a store has started and not
// finished, so that the next write of that registry can delete them. The
// keyring is the truth: get and erase never depend on the index, and list
// rebuilds it from the keyring whenever Stamp differs from the keyring's
// stamp (see Store.List). It holds nothing secret: addresses and usernames
// are what docker itself keeps in plaintext config.json and shows.
//
// On disk it is a header line, then a line per registry, sorted:
//
//	regcred-index 2 <stamp, or - for none>
//	<canonical address> "<address as stored>" "<username>" [@<live generation>:<chunks>] [<generation>:<chunks> ...]
//
// with Go-quoted strings. A line format rather than JSON because list
// decodes the whole file on every call: at 1,000 entries encoding/json took
// about 2.4 ms here, this parser about 0.1 ms (BenchmarkIndexList), against
// a whole list of about 2 ms. Addresses never contain white space
// (ValidateServerURL), so the first space ends the canonical address.
type index struct {
	// Stamp is the keyring stamp the entries were true at; "" when not
	// known to be true at any.
	Stamp string
	// Registries maps the canonical address (the keyring account) to its entry.
	Registries map[string]*entry

	// legacy lists the addresses a version 1 index named: keyring items in
	// the old format, to migrate.
	legacy []string
	// err is why the file could not be decoded; the cache then counts as
	// empty and out of date.
	err error
}

// entry is one registry's cached metadata.
type entry struct {
	// Server is the address as the client stored it; "" for an entry that
	// only records unfinished chunk sets (no credential item exists yet).
	Server   string
	Username string
	// Live and LiveN name the chunk set the credential's item points at,
	// when it is split: erase and store delete it without reading the item
	// first while the index is current.
	Live  string
	LiveN int
	// Chunks names chunk sets (generation → count) a store recorded before
	// writing their first chunk, or before replacing the item that points
	// at them, and has not yet deleted or seen become the live set: left by
	// an interrupted or timed-out write.
	Chunks map[string]int
}

// newIndex returns an empty index.
func newIndex() *index {
	return &index{Registries: map[string]*entry{}}
}

// decodeIndex parses an index file's content. Empty content is an empty
// index; a version 1 file is an empty index naming its entries as legacy.
// It checks the file's structure; validate checks the addresses too.
func decodeIndex(data []byte) (*index, error) {
	idx := newIndex()
	text := string(data) // one copy; every field decoded is a substring of it
	if len(strings.TrimSpace(text)) == 0 {
		return idx, nil
	}
	if rest, ok := strings.CutPrefix(text, legacyHeader); ok {
		for line := range strings.Lines(rest) {
			if server, _, ok := strings.Cut(line, " "); ok && ValidateServerURL(server) == nil {
				idx.legacy = append(idx.legacy, server)
			}
		}
		return idx, nil
	}
	header, rest, _ := strings.Cut(text, "\n")
	stamp, ok := strings.CutPrefix(header, indexHeader+" ")
	if !ok || stamp == "" || strings.ContainsAny(stamp, " \t") {
		return nil, fmt.Errorf("%w: unknown format %q", errCorruptIndex, truncate(header, 40))
	}
	if stamp != "-" {
		idx.Stamp = stamp
	}
	idx.Registries = make(map[string]*entry, strings.Count(rest, "\n")+1)
	entries := make([]entry, 0, strings.Count(rest, "\n")+1) // one allocation for all
	err := forEachEntry(rest, func(key string, e entry) bool {
		entries = append(entries, e)
		idx.Registries[key] = &entries[len(entries)-1]
		return len(idx.Registries) == len(entries)
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// listIfCurrent answers list straight from an index file's content when
// it is current at stamp, decoding into the answer and nothing else: list
// runs often, and should grow with N no more than it must.
func listIfCurrent(data []byte, stamp string) (map[string]string, bool) {
	text := string(data)
	header, rest, _ := strings.Cut(text, "\n")
	if stamp == "" || header != indexHeader+" "+stamp {
		return nil, false
	}
	out := make(map[string]string, strings.Count(rest, "\n"))
	entries := 0
	err := forEachEntry(rest, func(_ string, e entry) bool {
		if e.Server == "" {
			return true
		}
		entries++
		out[e.Server] = e.Username
		return len(out) == entries
	})
	return out, err == nil
}

// forEachEntry decodes the entry lines of an index file, calling each
// with every entry; each returns false for a duplicate.
func forEachEntry(lines string, each func(key string, e entry) bool) error {
	for n := 2; lines != ""; n++ {
		var line string
		line, lines, _ = strings.Cut(lines, "\n")
		if line == "" {
			continue
		}
		key, e, err := decodeEntry(line)
		if err != nil {
			return fmt.Errorf("%w: line %d: %v", errCorruptIndex, n, err)
		}
		if !each(key, e) {
			return fmt.Errorf("%w: line %d: %q listed twice", errCorruptIndex, n, truncate(key, 40))
		}
	}
	return nil
}

// decodeEntry parses one entry line.
func decodeEntry(line string) (string, entry, error) {
	key, rest, ok := strings.Cut(line, " ")
	if !ok || key == "" {
		return "", entry{}, errors.New("no canonical address")
	}
	var e entry
	var err error
	if e.Server, rest, err = cutQuoted(rest); err != nil {
		return "", entry{}, fmt.Errorf("address: %v", err)
	}
	if rest, ok = strings.CutPrefix(rest, " "); !ok {
		return "", entry{}, errors.New("no username")
	}
	if e.Username, rest, err = cutQuoted(rest); err != nil {
		return "", entry{}, fmt.Errorf("username: %v", err)
	}
	for i, f := range strings.Fields(rest) {
		live := false
		if i == 0 {
			f, live = strings.CutPrefix(f, "@")
		}
		gen, count, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || !validGeneration(gen) || n < 1 || n > maxChunks {
			return "", entry{}, fmt.Errorf("bad chunk set %q", truncate(f, 40))
		}
		if live {
			e.Live, e.LiveN = gen, n
			continue
		}
		if e.Chunks == nil {
			e.Chunks = map[string]int{}
		}
		e.Chunks[gen] = n
	}
	return key, e, nil
}

// cutQuoted decodes the Go-quoted string at the start of s, without
// allocating when it has no escapes, and returns what follows it.
func cutQuoted(s string) (string, string, error) {
	if len(s) > 1 && s[0] == '"' {
		if end := strings.IndexByte(s[1:], '"'); end >= 0 && strings.IndexByte(s[1:1+end], '\\') < 0 {
			return s[1 : 1+end], s[2+end:], nil
		}
	}
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", errors.New("not a quoted string")
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", "", errors.New("not a quoted string")
	}
	return v, s[len(q):], nil
}

// encode serialises the index, sorted, so equal indexes are equal bytes.
func (idx *index) encode() []byte {
	stamp := idx.Stamp
	if stamp == "" {
		stamp = "-"
	}
	out := append([]byte(indexHeader+" "), stamp...)
	out = append(out, '\n')
	for _, key := range slices.Sorted(maps.Keys(idx.Registries)) {
		e := idx.Registries[key]
		out = append(out, key...)
		out = append(out, ' ')
		out = strconv.AppendQuote(out, e.Server)
		out = append(out, ' ')
		out = strconv.AppendQuote(out, e.Username)
		if e.Live != "" {
			out = append(out, " @"...)
			out = append(out, e.Live...)
			out = append(out, ':')
			out = strconv.AppendInt(out, int64(e.LiveN), 10)
		}
		for _, g := range slices.Sorted(maps.Keys(e.Chunks)) {
			out = append(out, ' ')
			out = append(out, g...)
			out = append(out, ':')
			out = strconv.AppendInt(out, int64(e.Chunks[g]), 10)
		}
		out = append(out, '\n')
	}
	return out
}

// validate checks what decodeIndex leaves to writers, being too slow for
// every list: that each address is one regcred could have stored, under its
// canonical address.
func (idx *index) validate() error {
	for key, e := range idx.Registries {
		if e.Server == "" {
			if ValidateServerURL(key) != nil || keyFor(key) != key {
				return fmt.Errorf("%w: %q is not a canonical address", errCorruptIndex, truncate(key, 40))
			}
			continue
		}
		if ValidateServerURL(e.Server) != nil || keyFor(e.Server) != key {
			return fmt.Errorf("%w: address %q does not match %q", errCorruptIndex, truncate(e.Server, 40), truncate(key, 40))
		}
	}
	return nil
}

// loadIndex reads the index file. A missing file is an empty index; a
// corrupt one is an empty index carrying the error, since it is only a
// cache (doctor reports it, the next rebuild replaces it). Writers load it
// strict, validating every address; list need not, since a wrong address
// there can only mislabel what list shows until the next rebuild.
func loadIndex(path string, strict bool) (*index, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return newIndex(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	idx, err := decodeIndex(data)
	if err == nil && strict {
		err = idx.validate()
	}
	if err != nil {
		idx = newIndex()
		idx.err = fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// save replaces the index file atomically.
func (idx *index) save(path string) error {
	data := idx.encode()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	return atomicfile.WriteFile(path, data, 0o600)
}

// current reports whether the cached entries are true at the keyring's stamp.
func (idx *index) current(stamp string) bool {
	return stamp != "" && idx.Stamp == stamp && len(idx.legacy) == 0 && idx.err == nil
}

// list returns server → username for every cached credential.
func (idx *index) list() map[string]string {
	out := make(map[string]string, len(idx.Registries))
	for _, e := range idx.Registries {
		if e.Server != "" {
			out[e.Server] = e.Username
		}
	}
	return out
}

// entry returns key's entry, creating an empty one.
func (idx *index) entry(key string) *entry {
	e := idx.Registries[key]
	if e == nil {
		e = &entry{}
		idx.Registries[key] = e
	}
	return e
}

// setCredential records key's credential, keeping its unfinished chunk sets.
func (idx *index) setCredential(key string, c entry) {
	e := idx.entry(key)
	e.Server, e.Username, e.Live, e.LiveN = c.Server, c.Username, c.Live, c.LiveN
}

// same reports whether e records the same credential as c.
func (e *entry) same(c entry) bool {
	return e != nil && e.Server == c.Server && e.Username == c.Username && e.Live == c.Live && e.LiveN == c.LiveN
}

// item is what the credential's keyring item holds, as far as the index
// knows: its address, username and live chunk set; never the secret.
func (e *entry) item() *item {
	if e.Live != "" {
		return &item{head: &chunkHead{V: recordVersion, A: e.Server, U: e.Username, G: e.Live, N: e.LiveN}}
	}
	return &item{rec: &record{V: recordVersion, A: e.Server, U: e.Username}}
}

// entryOf is the index entry describing a decoded keyring item.
func entryOf(it item) entry {
	e := entry{Server: it.server(), Username: it.user()}
	if it.head != nil {
		e.Live, e.LiveN = it.head.G, it.head.N
	}
	return e
}

// forget drops key's credential, keeping its unfinished chunk sets.
func (idx *index) forget(key string) {
	if e := idx.Registries[key]; e != nil {
		e.Server, e.Username, e.Live, e.LiveN = "", "", "", 0
		idx.tidy(key)
	}
}

// unfinished returns a copy of key's unfinished chunk sets.
func (idx *index) unfinished(key string) map[string]int {
	if e := idx.Registries[key]; e != nil {
		return maps.Clone(e.Chunks)
	}
	return nil
}

// recordChunks notes a chunk set as unfinished.
func (idx *index) recordChunks(key, gen string, n int) {
	e := idx.entry(key)
	if e.Chunks == nil {
		e.Chunks = map[string]int{}
	}
	e.Chunks[gen] = n
}

// dropChunks removes a chunk set from key's unfinished sets.
func (idx *index) dropChunks(key, gen string) {
	if e := idx.Registries[key]; e != nil {
		delete(e.Chunks, gen)
		idx.tidy(key)
	}
}

// tidy removes key's entry once it records nothing.
func (idx *index) tidy(key string) {
	if e := idx.Registries[key]; e != nil && e.Server == "" && len(e.Chunks) == 0 {
		delete(idx.Registries, key)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
