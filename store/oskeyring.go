package store

import "context"

// OSKeyring is a keyring of the operating system, as doctor sees it.
type OSKeyring interface {
	Keyring
	// Name names the keyring in the user's words ("Secret Service").
	Name() string
	// Probe checks the keyring answers and is unlocked (or can be): nil,
	// or one of the sentinel errors saying why not.
	Probe(ctx context.Context) error
}
