package store

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
)

// memKeyring is an in-memory keyring for tests of pure logic. It can be
// made case-insensitive (as Windows Credential Manager is), unable to
// enumerate (as the macOS Keychain through go-keyring is), or to check
// every write against a backend's real constraint.
type memKeyring struct {
	mu              sync.Mutex
	items           map[string]string // by name as stored
	labels          map[string]Label
	caseInsensitive bool
	noList          bool
	check           func(account string, label Label, data string) error
	// onGet, when set, is called before every Get, outside the lock.
	onGet func(account string)
	sets  int
}

func newMemKeyring() *memKeyring {
	return &memKeyring{items: map[string]string{}, labels: map[string]Label{}}
}

// name finds the stored name account matches.
func (k *memKeyring) name(account string) (string, bool) {
	if _, ok := k.items[account]; ok || !k.caseInsensitive {
		return account, ok
	}
	for n := range k.items {
		if strings.EqualFold(n, account) {
			return n, true
		}
	}
	return account, false
}

func (k *memKeyring) Get(_ context.Context, account string) (string, error) {
	if k.onGet != nil {
		k.onGet(account)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.name(account)
	if !ok {
		return "", ErrNotFound
	}
	return k.items[n], nil
}

func (k *memKeyring) Set(_ context.Context, account string, label Label, data string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.check != nil {
		if err := k.check(account, label, data); err != nil {
			return err
		}
	}
	n, _ := k.name(account)
	k.items[n], k.labels[n] = data, label
	k.sets++
	return nil
}

func (k *memKeyring) Delete(_ context.Context, account string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.name(account)
	if !ok {
		return ErrNotFound
	}
	delete(k.items, n)
	delete(k.labels, n)
	return nil
}

func (k *memKeyring) List(context.Context) (map[string]Label, error) {
	if k.noList {
		return nil, errors.ErrUnsupported
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.labels), nil
}

// snapshot is a copy of every item.
func (k *memKeyring) snapshot() map[string]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.items)
}
