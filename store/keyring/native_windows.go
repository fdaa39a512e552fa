package keyring

const nativeName = "credential-manager"

func nativeKeyring(opts Options) OS { return NewCredentialManager(opts) }
