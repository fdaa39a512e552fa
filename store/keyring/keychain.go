//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd) && !windows

package keyring

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// Keychain is the macOS Keychain through go-keyring's `security` commands,
// which cannot enumerate items: it lists through a ListCache.
type Keychain struct {
	*ListCache
}

// NewKeychain returns the Keychain, each call bounded by timeout, listing
// through a ListCache in cacheDir.
func NewKeychain(opts Options) Keychain {
	return Keychain{&ListCache{Keyring: keychainItems{opts.Timeout}, Path: filepath.Join(opts.CacheDir, "list.json")}}
}

// Name names the keyring in the user's words.
func (Keychain) Name() string { return "macOS Keychain" }

// ItemLimit is the largest item the keyring takes.
func (Keychain) ItemLimit() int { return KeychainItemLimit }

// Probe checks the keyring answers.
func (k Keychain) Probe(ctx context.Context) error {
	_, err := k.Get(ctx, ProbeAccount)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// keychainItems is the Keychain's items, without a List.
type keychainItems struct{ timeout time.Duration }

func (k keychainItems) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func() (err error) {
		data, err = gokeyring.Get(Service, account)
		return err
	})
	return data, err
}

func (k keychainItems) Set(ctx context.Context, account string, _ Label, data string) error {
	return k.call(ctx, func() error { return gokeyring.Set(Service, account, data) })
}

func (k keychainItems) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func() error { return gokeyring.Delete(Service, account) })
}

func (k keychainItems) List(context.Context) (map[string]Label, error) {
	return nil, fmt.Errorf("listing keychain items: %w", errors.ErrUnsupported)
}

func (k keychainItems) call(ctx context.Context, fn func() error) error {
	return Bounded(ctx, k.timeout, func() error {
		err := fn()
		if errors.Is(err, gokeyring.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
		return nil
	})
}
