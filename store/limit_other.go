//go:build !windows && !darwin

package store

// DefaultItemLimit: the Secret Service has no hard limit, but large items
// slow every later keyring write (gnome-keyring rewrites its whole file).
const DefaultItemLimit = 64 << 10
