package helper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/store"
)

// memKeyring is an in-memory keyring that cannot enumerate: enough for the
// pure code path of list, which reads only the stamp and the index.
type memKeyring struct {
	mu    sync.Mutex
	items map[string]string
	stamp string
}

func (k *memKeyring) Get(_ context.Context, a string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.items[a]
	if !ok {
		return "", store.ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Set(_ context.Context, a, v string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.items[a] = v
	return nil
}

func (k *memKeyring) Delete(_ context.Context, a string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.items, a)
	return nil
}

func (k *memKeyring) Items(context.Context) (map[string]string, error) {
	return nil, errors.ErrUnsupported
}

func (k *memKeyring) Stamp(context.Context) (string, error) { return k.stamp, nil }

func (k *memKeyring) SetStamp(_ context.Context, s string) error { k.stamp = s; return nil }

// BenchmarkList is the whole of `list` after process start on a current
// index: read the stamp and the index, answer through the credentials
// package.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{10, 1000} {
		st, err := store.New(store.Config{Dir: b.TempDir(), Keyring: &memKeyring{items: map[string]string{}}})
		if err != nil {
			b.Fatal(err)
		}
		for i := range n {
			c := store.Credential{ServerURL: fmt.Sprintf("registry-%04d.bench.example", i), Username: fmt.Sprintf("user%d", i), Secret: "s"}
			if err := st.Put(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
		if l, err := st.List(ctx); err != nil || len(l) != n {
			b.Fatal(len(l), err)
		}
		h := New(ctx, st)
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
