//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

import (
	"context"
	"errors"
)

// checkBackend has nothing to check where the keyring is not reached over D-Bus.
func checkBackend() error { return nil }

// diagnose has nothing to refine where the keyring is not reached over D-Bus.
func diagnose(err error) error { return err }

// beforeSet has nothing to prepare where the keyring is not reached over D-Bus.
func beforeSet() {}

// Accounts cannot enumerate this backend's items through go-keyring.
func (k OSKeyring) Accounts(ctx context.Context) ([]string, error) {
	return nil, errors.ErrUnsupported
}
