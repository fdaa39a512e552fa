//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd) && !windows

package store

import (
	"context"
	"errors"
	"fmt"
)

// BackendName names the OS keyring regcred uses here: the macOS Keychain, through the security command.
const BackendName = "macOS Keychain"

// checkBackend has nothing to check where the keyring is not reached over D-Bus.
func checkBackend() error { return nil }

// diagnose has nothing to refine where the keyring is not reached over D-Bus.
func diagnose(err error) error { return err }

// beforeSet has nothing to prepare where the keyring is not reached over D-Bus.
func beforeSet() {}

// Items cannot enumerate this backend through go-keyring: the macOS
// Keychain has no enumeration in go-keyring's `security` command interface.
func (k OSKeyring) Items(ctx context.Context) (map[string]string, error) {
	return nil, fmt.Errorf("listing keychain items: %w", errors.ErrUnsupported)
}

// stampItem caches nothing here: the stamp is an ordinary item.
type stampItem struct{}

// Stamp reads the list stamp, an ordinary item here.
func (k OSKeyring) Stamp(ctx context.Context) (string, error) { return k.goStamp(ctx) }

// SetStamp replaces the list stamp.
func (k OSKeyring) SetStamp(ctx context.Context, stamp string) error {
	return k.goSetStamp(ctx, stamp)
}
