//go:build !linux

package keyring

import "context"

// Native is the name of this OS's one keyring.
const Native = nativeName

// Names are the keyrings this OS offers: one.
func Names() []string { return []string{Native} }

// New returns this OS's keyring, whatever the name.
func New(_ string, opts Options) OS { return nativeKeyring(opts) }

// Detect has nothing to choose between.
func Detect(context.Context, Options) (name, why string, sure bool) {
	return Native, "the one keyring of this OS", true
}
