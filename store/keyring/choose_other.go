//go:build !linux

package keyring

import (
	"context"
	"fmt"
)

// Native is the name of this OS's one keyring.
const Native = nativeName

// Default is the keyring regcred chose before it offered a choice.
const Default = Native

// Names are the keyrings this OS offers: one.
func Names() []string { return []string{Native} }

// New returns this OS's keyring, which name names.
func New(name string, opts Options) (OS, error) {
	if name != Native {
		return nil, fmt.Errorf("no keyring %q here: choose %s", name, Native)
	}
	return nativeKeyring(opts), nil
}

// Detect has nothing to choose between.
func Detect(context.Context, Options) (name, why string, sure bool) {
	return Native, "the one keyring of this OS", true
}
