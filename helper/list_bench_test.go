package helper

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/store"
)

// noKeyring fails every call: list must not need the keyring.
type noKeyring struct{}

func (noKeyring) Get(context.Context, string) (string, error) { return "", store.ErrNoProvider }
func (noKeyring) Set(context.Context, string, string) error   { return store.ErrNoProvider }
func (noKeyring) Delete(context.Context, string) error        { return store.ErrNoProvider }

// BenchmarkList is the whole of `list` after process start: read and
// decode the index, answer through the credentials package.
func BenchmarkList(b *testing.B) {
	for _, n := range []int{10, 1000} {
		dir := b.TempDir()
		var idx strings.Builder
		idx.WriteString("regcred-index 1\n")
		for i := range n {
			fmt.Fprintf(&idx, "registry-%04d.bench.example \"user%d\"\n", i, i)
		}
		if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte(idx.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		st, err := store.New(store.Config{Dir: dir, Keyring: noKeyring{}})
		if err != nil {
			b.Fatal(err)
		}
		h := New(context.Background(), st)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := credentials.HandleCommand(h, "list", nil, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
