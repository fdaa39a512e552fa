//go:build !linux && !windows && !darwin

package keyring

const nativeName = "secret-service"

func nativeKeyring(opts Options) OS { return NewSecretService(opts) }
