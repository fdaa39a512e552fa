package store

// DefaultItemLimit is the macOS Keychain's (see keychainItemLimit).
const DefaultItemLimit = keychainItemLimit
