//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package store

// checkBackend has nothing to check where the keyring is not reached over D-Bus.
func checkBackend() error { return nil }

// diagnose has nothing to refine where the keyring is not reached over D-Bus.
func diagnose(err error) error { return err }

// beforeSet has nothing to prepare where the keyring is not reached over D-Bus.
func beforeSet() {}
