package backend

import (
	"time"

	"github.com/regcred/regcred/store"
)

const nativeName = "credential-manager"

func nativeKeyring(timeout time.Duration, _ string) store.OSKeyring {
	return store.NewCredentialManager(timeout)
}
