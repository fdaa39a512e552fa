package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Default is the keyring regcred chose before it offered a choice.
const Default = SecretServiceName

// Names are the keyrings this OS offers, the default first.
func Names() []string { return []string{Default, KernelName} }

// New returns the keyring name names, one of Names.
func New(name string, opts Options) (OS, error) {
	switch name {
	case SecretServiceName:
		return NewSecretService(opts), nil
	case KernelName:
		return NewKernelKeyring(opts), nil
	}
	return nil, fmt.Errorf("no keyring %q here: choose %s", name, strings.Join(Names(), " or "))
}

// detectTimeout bounds asking whether a Secret Service answers: a desktop
// keyring answers in milliseconds, and one waiting on an unlock prompt
// nobody sees should not hold the first command up for long.
const detectTimeout = 5 * time.Second

// Detect picks the Secret Service if one answers, otherwise the kernel
// keyring, and says why. The choice is sure when a Secret Service
// answered, or when none is there to answer: no session bus, nobody
// serving the Secret Service on it, or a provider with no collection to
// keep items in (gnome-keyring started without a login keyring, as on a
// headless machine). A provider that is there but did not answer — its
// database locked, an unlock prompt dismissed or typed into slowly, a
// wedged bus — is the Secret Service all the same, but not surely: a
// desktop's keyring is chosen, never one that forgets at reboot, and
// the caller asks again next time rather than recording it.
func Detect(ctx context.Context, opts Options) (name, why string, sure bool) {
	opts.Timeout = min(opts.Timeout, detectTimeout)
	if opts.Timeout <= 0 {
		opts.Timeout = detectTimeout
	}
	err := NewSecretService(opts).Probe(ctx)
	switch {
	case err == nil:
		return SecretServiceName, "a Secret Service answered", true
	case errors.Is(err, ErrNoSessionBus), errors.Is(err, ErrNoProvider), errors.Is(err, ErrNoCollection):
		return KernelName, "no Secret Service answered (" + firstClause(err.Error()) + ")", true
	}
	return SecretServiceName, "a Secret Service is running but did not answer (" + firstClause(err.Error()) + ")", false
}

// firstClause is the start of an error, up to its first colon or
// parenthesis: the sentinel's name without the recipe that follows it.
func firstClause(s string) string {
	if i := strings.IndexAny(s, ":("); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
