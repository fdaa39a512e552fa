//go:build !windows && !darwin

package store

// DefaultItemLimit is the Secret Service's (see secretServiceItemLimit).
const DefaultItemLimit = secretServiceItemLimit
