package keyring

import "context"

// OS is a keyring of the operating system, as doctor sees it.
type OS interface {
	Keyring
	// Name names the keyring in the user's words ("Secret Service").
	Name() string
	// ItemLimit is the largest item in bytes it takes: larger secrets are
	// split (REGCRED_ITEM_LIMIT can lower it).
	ItemLimit() int
	// Probe checks the keyring answers and is unlocked (or can be): nil,
	// or one of the sentinel errors saying why not.
	Probe(ctx context.Context) error
}

// The keyrings of Linux, in configure --backend's words.
const (
	SecretServiceName = "secret-service"
	KernelName        = "kernel"
)
