package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// indexVersion is the format version written into the index file.
const indexVersion = 1

// ErrCorruptIndex is returned when the index file cannot be decoded.
var ErrCorruptIndex = errors.New("index is corrupt")

// Index maps each stored registry address to its non-secret metadata. It is
// what `list` answers from, so listing never reads a keyring item. It holds
// nothing secret: addresses and usernames are what docker itself keeps in
// plaintext config.json ("HOST": {}) and shows in `docker info`.
type Index struct {
	Version int               `json:"version"`
	Entries map[string]*Entry `json:"entries"`
}

// Entry is one registry's metadata.
type Entry struct {
	Username string `json:"username"`
	// Chunks names every chunk set that may exist in the keyring for this
	// entry (generation → number of chunks). A set is recorded here before
	// its first chunk is written and removed only after its last chunk is
	// deleted, so no chunk ever exists that the index does not account for.
	Chunks map[string]int `json:"chunks,omitempty"`
}

// newIndex returns an empty index.
func newIndex() *Index {
	return &Index{Version: indexVersion, Entries: map[string]*Entry{}}
}

// DecodeIndex parses an index file's content. Empty content is an empty index.
func DecodeIndex(data []byte) (*Index, error) {
	idx := newIndex()
	if len(bytes.TrimSpace(data)) == 0 {
		return idx, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(idx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptIndex, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrCorruptIndex)
	}
	if idx.Version != indexVersion {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrCorruptIndex, idx.Version)
	}
	if idx.Entries == nil {
		idx.Entries = map[string]*Entry{}
	}
	for server, e := range idx.Entries {
		if e == nil {
			return nil, fmt.Errorf("%w: entry %q is null", ErrCorruptIndex, server)
		}
		if err := ValidateServerURL(server); err != nil {
			return nil, fmt.Errorf("%w: entry %q: %v", ErrCorruptIndex, server, err)
		}
		for gen, n := range e.Chunks {
			if !validGeneration(gen) || n < 1 || n > maxChunks {
				return nil, fmt.Errorf("%w: entry %q has a bad chunk set %q", ErrCorruptIndex, server, gen)
			}
		}
	}
	return idx, nil
}

// Encode serialises the index with sorted keys, so equal indexes are equal bytes.
func (idx *Index) Encode() ([]byte, error) {
	return json.MarshalIndent(idx, "", "  ")
}

// Usernames returns server → username for every entry; never nil.
func (idx *Index) Usernames() map[string]string {
	out := make(map[string]string, len(idx.Entries))
	for server, e := range idx.Entries {
		out[server] = e.Username
	}
	return out
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
		return nil, fmt.Errorf("%s: %w (repair or remove the file; it holds no secrets)", path, err)
	}
	return idx, nil
}
