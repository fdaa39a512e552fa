package keyring

const nativeName = "keychain"

func nativeKeyring(opts Options) OS { return NewKeychain(opts) }
