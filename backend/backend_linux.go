package backend

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/regcred/regcred/store"
)

// The keyrings of Linux, in configure --backend's words.
const (
	SecretService = "secret-service"
	Kernel        = "kernel"
)

// Names are the keyrings this OS offers, the default first.
func Names() []string { return []string{SecretService, Kernel} }

func newKeyring(name string, timeout time.Duration, _ string) store.OSKeyring {
	if name == Kernel {
		return store.NewKernelKeyring(timeout)
	}
	return store.NewSecretService(timeout)
}

// detectTimeout bounds asking whether a Secret Service answers: a desktop
// keyring answers in milliseconds, and one waiting on an unlock prompt
// nobody sees should not hold the first command up for long.
const detectTimeout = 5 * time.Second

// Detect picks the Secret Service if one answers, or if an older regcred
// kept its index beside (they used only the Secret Service), otherwise the
// kernel keyring; and says why.
func Detect(ctx context.Context, timeout time.Duration, legacyIndex string) Choice {
	if _, err := os.Stat(legacyIndex); legacyIndex != "" && err == nil {
		return Choice{Name: SecretService, Why: "an older regcred kept its credentials there"}
	}
	err := store.NewSecretService(min(timeout, detectTimeout)).Probe(ctx)
	if err == nil {
		return Choice{Name: SecretService, Why: "a Secret Service answered"}
	}
	return Choice{Name: Kernel, Why: "no Secret Service answered (" + firstClause(err.Error()) + ")"}
}

// firstClause is the start of an error, up to its first colon or
// parenthesis: the sentinel's name without the recipe that follows it.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ":("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
