package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unsafe"
)

// indexHeader is the index file's first line; it names the format version.
const indexHeader = "regcred-index 1"

// ErrCorruptIndex is returned when the index file cannot be decoded.
var ErrCorruptIndex = errors.New("index is corrupt")

// Index maps each stored registry address to its non-secret metadata. It is
// what `list` answers from, so listing never reads a keyring item. It holds
// nothing secret: addresses and usernames are what docker itself keeps in
// plaintext config.json ("HOST": {}) and shows in `docker info`.
//
// On disk it is a line per entry, sorted, after a header line:
//
//	regcred-index 1
//	<server> <username as a Go quoted string> [>"<username being written>"] [<generation>:<chunks> ...]
//
// A line format rather than JSON because every get and list decodes the
// whole file: this parses 1000 entries several times faster than
// encoding/json, which kept `list` from staying flat as entries grew.
// Addresses never contain white space (ValidateServerURL), so the first
// space ends the address.
type Index struct {
	Entries map[string]*Entry
}

// Entry is one registry's metadata.
type Entry struct {
	Username string
	// Chunks names every chunk set that may exist in the keyring for this
	// entry (generation → number of chunks). A set is recorded here before
	// its first chunk is written and removed only after its last chunk is
	// deleted, so no chunk ever exists that the index does not account for.
	Chunks map[string]int
	// Pending, when set, is the username a store is switching the entry to.
	// It is recorded before the keyring write and cleared after it, so after
	// a crash in between, list can tell that the keyring may hold either
	// username and read the item to know which (see Store.List).
	Pending *string
}

// newIndex returns an empty index.
func newIndex() *Index {
	return &Index{Entries: map[string]*Entry{}}
}

// DecodeIndex parses an index file's content. Empty content is an empty index.
func DecodeIndex(data []byte) (*Index, error) {
	idx := newIndex()
	var entries []Entry
	// One conversion; every field decoded is a substring of it.
	err := parseIndex(string(data), func(lines int) {
		idx.Entries = make(map[string]*Entry, lines)
		entries = make([]Entry, 0, lines) // one allocation for every entry
	}, func(n int, server string, e Entry) error {
		entries = append(entries, e)
		if idx.Entries[server] = &entries[len(entries)-1]; len(idx.Entries) != len(entries) {
			return fmt.Errorf("line %d: %q listed twice", n, server)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return idx, nil
}

// decodeUsernames parses an index file straight into server → username,
// the answer to list, and names the entries with a pending username. It
// skips building Entries: list runs often and should not grow with N more
// than it must.
func decodeUsernames(text string) (map[string]string, []string, error) {
	var out map[string]string
	var pending []string
	entries := 0
	err := parseIndex(text, func(lines int) { out = make(map[string]string, lines) },
		func(n int, server string, e Entry) error {
			// One map operation per entry: a duplicate does not grow the map.
			entries++
			if out[server] = e.Username; len(out) != entries {
				return fmt.Errorf("line %d: %q listed twice", n, server)
			}
			if e.Pending != nil {
				pending = append(pending, server)
			}
			return nil
		})
	if out == nil {
		out = map[string]string{}
	}
	return out, pending, err
}

// parseIndex checks the header and calls each for every entry line, after
// telling size how many lines there are. Errors wrap ErrCorruptIndex.
func parseIndex(text string, size func(lines int), each func(n int, server string, e Entry) error) error {
	if len(strings.TrimSpace(text)) == 0 {
		return nil
	}
	header, rest, _ := strings.Cut(text, "\n")
	if header != indexHeader {
		return fmt.Errorf("%w: unknown format %q", ErrCorruptIndex, truncate(header, 40))
	}
	size(strings.Count(rest, "\n") + 1)
	for n := 2; len(rest) > 0; n++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if line == "" {
			continue
		}
		server, e, err := decodeEntry(line)
		if err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrCorruptIndex, n, err)
		}
		if err := each(n, server, e); err != nil {
			return fmt.Errorf("%w: %v", ErrCorruptIndex, err)
		}
	}
	return nil
}

// decodeEntry parses one entry line.
func decodeEntry(line string) (string, Entry, error) {
	server, rest, ok := strings.Cut(line, " ")
	if !ok || server == "" {
		return "", Entry{}, errors.New("no username")
	}
	for i := 0; i < len(server); i++ {
		if server[i] < 0x20 || server[i] == 0x7f {
			return "", Entry{}, errors.New("control character in address")
		}
		if server[i] >= 0x80 { // rare: check as Encode does
			if checkEncodable(server) != nil {
				return "", Entry{}, errors.New("white space or control character in address")
			}
			break
		}
	}
	e := Entry{}
	var quoted string
	// Fast path, the usual case: "plain" with no escape before its closing quote.
	if end := strings.IndexByte(rest[min(1, len(rest)):], '"'); len(rest) > 1 && rest[0] == '"' && end >= 0 && strings.IndexByte(rest[1:1+end], '\\') < 0 {
		quoted, e.Username = rest[:end+2], rest[1:end+1]
	} else {
		var err error
		if quoted, err = strconv.QuotedPrefix(rest); err != nil {
			return "", Entry{}, errors.New("username is not a quoted string")
		}
		if e.Username, err = unquote(quoted); err != nil {
			return "", Entry{}, err
		}
	}
	rest = rest[len(quoted):]
	if after, ok := strings.CutPrefix(rest, " >"); ok {
		q, err := strconv.QuotedPrefix(after)
		if err != nil {
			return "", Entry{}, errors.New("pending username is not a quoted string")
		}
		p, err := unquote(q)
		if err != nil {
			return "", Entry{}, err
		}
		e.Pending, rest = &p, after[len(q):]
	}
	for _, f := range strings.Fields(rest) {
		gen, count, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || !validGeneration(gen) || n < 1 || n > maxChunks {
			return "", Entry{}, fmt.Errorf("bad chunk set %q", truncate(f, 40))
		}
		if e.Chunks == nil {
			e.Chunks = map[string]int{}
		}
		e.Chunks[gen] = n
	}
	return server, e, nil
}

// unquote decodes a quoted username, without allocating when it has no escapes.
func unquote(quoted string) (string, error) {
	inner := quoted[1 : len(quoted)-1]
	if quoted[0] == '"' && !strings.ContainsAny(inner, "\\\"") {
		return inner, nil
	}
	u, err := strconv.Unquote(quoted)
	if err != nil {
		return "", errors.New("username is not a quoted string")
	}
	return u, nil
}

// Encode serialises the index, sorted, so equal indexes are equal bytes.
func (idx *Index) Encode() ([]byte, error) {
	servers := make([]string, 0, len(idx.Entries))
	size := len(indexHeader) + 1
	for s, e := range idx.Entries {
		if err := checkEncodable(s); err != nil {
			return nil, err
		}
		servers = append(servers, s)
		size += len(s) + len(e.Username) + 4 + 40*len(e.Chunks)
	}
	sort.Strings(servers)
	out := make([]byte, 0, size)
	out = append(out, indexHeader...)
	out = append(out, '\n')
	for _, s := range servers {
		e := idx.Entries[s]
		out = append(out, s...)
		out = append(out, ' ')
		out = strconv.AppendQuote(out, e.Username)
		if e.Pending != nil {
			out = append(out, " >"...)
			out = strconv.AppendQuote(out, *e.Pending)
		}
		gens := make([]string, 0, len(e.Chunks))
		for g := range e.Chunks {
			gens = append(gens, g)
		}
		sort.Strings(gens)
		for _, g := range gens {
			out = append(out, ' ')
			out = append(out, g...)
			out = append(out, ':')
			out = strconv.AppendInt(out, int64(e.Chunks[g]), 10)
		}
		out = append(out, '\n')
	}
	return out, nil
}

// checkEncodable refuses an address the line format cannot hold; stored
// addresses are validated long before, so this guards against misuse.
func checkEncodable(server string) error {
	if server == "" || strings.ContainsFunc(server, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("index: cannot encode address %q", server)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Resolve finds the stored address that answers a lookup for query: the
// address itself when stored, otherwise the stored address with the same
// canonical form (see CanonicalServer). Store keeps at most one entry per
// canonical form; if an interrupted store left two, the lexically first wins
// so every process answers alike.
func (idx *Index) Resolve(query string) (string, bool) {
	if _, ok := idx.Entries[query]; ok {
		return query, true
	}
	matches := idx.Equivalents(query)
	if len(matches) == 0 {
		return "", false
	}
	return matches[0], true
}

// Equivalents lists, sorted, every stored address naming the same registry as query.
func (idx *Index) Equivalents(query string) []string {
	want := CanonicalServer(query)
	var out []string
	for server := range idx.Entries {
		if CanonicalServer(server) == want {
			out = append(out, server)
		}
	}
	sort.Strings(out)
	return out
}

// loadIndex reads the index file; a missing file is an empty index.
func loadIndex(path string) (*Index, error) {
	snap, err := takeSnapshot(path)
	if err != nil {
		return nil, err
	}
	return snap.decode(path)
}

// saveIndex replaces the index file atomically: readers see the old or the
// new file, never a partial one, and a crash leaves one of the two.
func saveIndex(path string, idx *Index) error {
	data, err := idx.Encode()
	if err != nil {
		return fmt.Errorf("encode index: %w", err)
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a 0600 temporary file beside path, syncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".index-*.tmp")
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write index: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync index: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace index: %w", err)
	}
	return nil
}

// snapshot is the index file as a writer found it.
type snapshot struct {
	data   []byte
	exists bool
}

// takeSnapshot reads the index file's bytes, if it exists.
func takeSnapshot(path string) (snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return snapshot{}, nil
	}
	if err != nil {
		return snapshot{}, fmt.Errorf("read index: %w", err)
	}
	return snapshot{data: data, exists: true}, nil
}

// readIndexText reads the index file for a reader, as a string that shares
// the freshly read buffer: no copy, and every decoded field is a substring of
// it. The snapshot is dropped here, so the buffer is never written again,
// which is what unsafe.String requires. A missing file is an empty index.
func readIndexText(path string) (string, error) {
	snap, err := takeSnapshot(path)
	return unsafe.String(unsafe.SliceData(snap.data), len(snap.data)), err
}

// restore puts the index file back as it was in the snapshot.
func (sn snapshot) restore(path string) error {
	if !sn.exists {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return writeFileAtomic(path, sn.data)
}

// decode parses the snapshot; path names the file in errors.
func (sn snapshot) decode(path string) (*Index, error) {
	idx, err := DecodeIndex(sn.data)
	if err != nil {
		return nil, corrupt(path, err)
	}
	return idx, nil
}

// corrupt says which index file failed to decode and what to do.
func corrupt(path string, err error) error {
	return fmt.Errorf("%s: %w (repair or remove the file; it holds no secrets)", path, err)
}
