package testenv

import (
	"os"
	"testing"

	"github.com/regcred/regcred/testenv/launch"
)

// StartSessionT is launch.StartSession for a test: the session is stopped at the
// end of the test, and an unavailable keyring skips it (fails it under CI).
func StartSessionT(tb testing.TB, mode launch.KeyringMode) *launch.Session {
	tb.Helper()
	// Not tb.TempDir(): a unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "regcred-session-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := launch.StartSession(dir, mode)
	if err != nil {
		Unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartProviderT starts provider, unlocked, on a private bus for the test
// and stops both when it ends.
func StartProviderT(tb testing.TB, provider launch.Provider) *launch.Session {
	tb.Helper()
	return StartProviderModeT(tb, provider, launch.Unlocked)
}

// StartProviderModeT is StartProviderT with the provider set up as mode says.
func StartProviderModeT(tb testing.TB, provider launch.Provider, mode launch.KeyringMode) *launch.Session {
	tb.Helper()
	dir, err := os.MkdirTemp("", "regcred-session-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := launch.StartProvider(dir, provider, mode)
	if err != nil {
		Unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartProviderAsT starts provider as mode says, on a private bus, both run
// as the throw-away user u (given a passwd entry for the test), and stops
// them when the test ends.
func StartProviderAsT(tb testing.TB, provider launch.Provider, mode launch.KeyringMode, u *launch.KernelUser) *launch.Session {
	tb.Helper()
	RegisterUser(tb, u)
	dir, err := os.MkdirTemp("", "regcred-session-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := launch.StartProviderAs(dir, provider, mode, u)
	if err != nil {
		Unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}
