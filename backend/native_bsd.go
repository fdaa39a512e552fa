//go:build !linux && !windows && !darwin

package backend

import (
	"time"

	"github.com/regcred/regcred/store"
)

const nativeName = "secret-service"

func nativeKeyring(timeout time.Duration, _ string) store.OSKeyring {
	return store.NewSecretService(timeout)
}
