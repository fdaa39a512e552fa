package backend

import (
	"time"

	"github.com/regcred/regcred/store"
)

const nativeName = "keychain"

func nativeKeyring(timeout time.Duration, cacheDir string) store.OSKeyring {
	return store.NewKeychain(timeout, cacheDir)
}
