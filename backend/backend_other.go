//go:build !linux

package backend

import (
	"context"
	"time"

	"github.com/regcred/regcred/store"
)

// Native is the name of this OS's one keyring.
const Native = nativeName

// Names are the keyrings this OS offers: one.
func Names() []string { return []string{Native} }

func newKeyring(_ string, timeout time.Duration, cacheDir string) store.OSKeyring {
	return nativeKeyring(timeout, cacheDir)
}

// Detect has nothing to choose between.
func Detect(context.Context, time.Duration, string) Choice {
	return Choice{Name: Native, Why: "the one keyring of this OS"}
}
