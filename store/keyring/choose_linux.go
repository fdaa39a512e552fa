package keyring

import (
	"context"
	"strings"
	"time"
)

// The keyrings of Linux, in configure --backend's words.
const (
	SecretServiceName = "secret-service"
	KernelName        = "kernel"
)

// Names are the keyrings this OS offers, the default first.
func Names() []string { return []string{SecretServiceName, KernelName} }

// New returns the keyring name names (one of Names).
func New(name string, opts Options) OS {
	if name == KernelName {
		return NewKernelKeyring(opts)
	}
	return NewSecretService(opts)
}

// detectTimeout bounds asking whether a Secret Service answers: a desktop
// keyring answers in milliseconds, and one waiting on an unlock prompt
// nobody sees should not hold the first command up for long.
const detectTimeout = 5 * time.Second

// Detect picks the Secret Service if one answers, otherwise the kernel
// keyring, and says why.
func Detect(ctx context.Context, opts Options) (name, why string) {
	opts.Timeout = min(opts.Timeout, detectTimeout)
	if opts.Timeout <= 0 {
		opts.Timeout = detectTimeout
	}
	err := NewSecretService(opts).Probe(ctx)
	if err == nil {
		return SecretServiceName, "a Secret Service answered"
	}
	return KernelName, "no Secret Service answered (" + firstClause(err.Error()) + ")"
}

// firstClause is the start of an error, up to its first colon or
// parenthesis: the sentinel's name without the recipe that follows it.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ":("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
