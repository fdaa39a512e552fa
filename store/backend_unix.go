//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"os"
	"path/filepath"
)

// checkBackend refuses to talk to the Secret Service when there is no
// session bus to reach it on. Without this check godbus would autolaunch a
// private bus with dbus-launch, which holds no keyring and outlives us.
// It reads the same environment godbus reads, for the same fact.
func checkBackend() error {
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "" {
		return nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "bus")); err == nil {
			return nil
		}
	}
	return ErrNoSessionBus
}
