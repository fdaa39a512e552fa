package keyring

import (
	"context"
	"errors"
	"maps"
	"strings"
	"sync"
)

// Memory is an in-memory keyring, for tests, as go-keyring's mock is: the
// store and every command run on it in-process. It can be made
// case-insensitive (as Credential Manager is), unable to enumerate (as the
// macOS Keychain through go-keyring is), or to check every write against a
// keyring's real constraint. Set its options before first use.
type Memory struct {
	// CaseInsensitive matches accounts in any letter case.
	CaseInsensitive bool
	// NoList makes List fail with errors.ErrUnsupported.
	NoList bool
	// Check, when set, vets every Set; its error fails the write.
	Check func(account string, label Label, data string) error
	// OnGet, when set, is called before every Get, outside the lock.
	OnGet func(account string)
	// Err, when set, is what every call returns instead of its work: a
	// keyring that cannot be reached (ErrNoSessionBus, ErrLocked, …).
	Err error

	mu     sync.Mutex
	items  map[string]string // by name as stored
	labels map[string]Label
	sets   int
}

var _ OS = (*Memory)(nil)

// NewMemory returns an empty in-memory keyring.
func NewMemory() *Memory {
	return &Memory{items: map[string]string{}, labels: map[string]Label{}}
}

// Name names the keyring in the user's words.
func (k *Memory) Name() string { return "in-memory keyring" }

// ItemLimit is the largest item it takes: the Secret Service's.
func (k *Memory) ItemLimit() int { return SecretServiceItemLimit }

// Probe returns Err.
func (k *Memory) Probe(context.Context) error { return k.Err }

// name finds the stored name account matches.
func (k *Memory) name(account string) (string, bool) {
	if _, ok := k.items[account]; ok || !k.CaseInsensitive {
		return account, ok
	}
	for n := range k.items {
		if strings.EqualFold(n, account) {
			return n, true
		}
	}
	return account, false
}

// Get returns the data stored under account, or ErrNotFound.
func (k *Memory) Get(_ context.Context, account string) (string, error) {
	if k.OnGet != nil {
		k.OnGet(account)
	}
	if k.Err != nil {
		return "", k.Err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	n, ok := k.name(account)
	if !ok {
		return "", ErrNotFound
	}
	return k.items[n], nil
}

// Set stores data and its label under account.
func (k *Memory) Set(_ context.Context, account string, label Label, data string) error {
	if k.Err != nil {
		return k.Err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.Check != nil {
		if err := k.Check(account, label, data); err != nil {
			return err
		}
	}
	n, _ := k.name(account)
	k.items[n], k.labels[n] = data, label
	k.sets++
	return nil
}

// Delete removes account; a missing account is ErrNotFound.
func (k *Memory) Delete(_ context.Context, account string) error {
	if k.Err != nil {
		return k.Err
	}
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

// List returns every item's account and label.
func (k *Memory) List(context.Context) (map[string]Label, error) {
	if k.NoList {
		return nil, errors.ErrUnsupported
	}
	if k.Err != nil {
		return nil, k.Err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.labels), nil
}

// Snapshot is a copy of every item, by account.
func (k *Memory) Snapshot() map[string]string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.items)
}

// Sets counts the successful writes so far.
func (k *Memory) Sets() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.sets
}
