package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// Service is the keyring service name every regcred item is stored under.
// It has no colon: Windows Credential Manager target names are service:user.
const Service = "docker-credential-regcred"

// DefaultTimeout bounds each keyring call unless REGCRED_TIMEOUT says otherwise.
const DefaultTimeout = 30 * time.Second

// Sentinel errors for the ways the OS keyring can be unusable. Each carries
// the one-line explanation a user needs; callers compare with errors.Is.
var (
	ErrNotFound       = errors.New("credentials not found")
	ErrNoSessionBus   = errors.New("no D-Bus session bus")
	ErrNoProvider     = errors.New("no Secret Service provider on the D-Bus session bus: install and start one (gnome-keyring, KeePassXC with Secret Service integration, or KWallet); without a desktop: " + unlockHint)
	ErrNoCollection   = errors.New("the keyring has no login or default collection: create or unlock one with " + unlockHint)
	ErrLocked         = errors.New("the keyring is locked and could not be unlocked (no unlock prompt could be shown): unlock it with " + unlockHint)
	ErrKeyringTimeout = errors.New("the keyring did not answer in time (it may be waiting on an unlock prompt); raise REGCRED_TIMEOUT or unlock the keyring")
)

// The README's "Without a desktop" recipe, which every hint names exactly.
const (
	sessionHint = "`dbus-run-session -- bash`"
	unlockHint  = "`printf '%s' \"$KEYRING_PASSWORD\" | gnome-keyring-daemon --unlock --replace --components=secrets`"
)

// noBus explains ErrNoSessionBus: the bus address is unset, or set but
// nothing answers there (the session that set it has ended).
func noBus(cause error) error {
	addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	if addr == "" || addr == "autolaunch:" {
		return fmt.Errorf("%w (DBUS_SESSION_BUS_ADDRESS is unset): the Secret Service keyring needs a desktop session; without one start a bus with %s, then a keyring in it with %s", ErrNoSessionBus, sessionHint, unlockHint)
	}
	why := ""
	if cause != nil {
		why = " (" + cause.Error() + ")"
	}
	return fmt.Errorf("%w answers at DBUS_SESSION_BUS_ADDRESS=%s%s: the session that set it has ended; start a new one with %s, then a keyring in it with %s, or unset the variable", ErrNoSessionBus, addr, why, sessionHint, unlockHint)
}

// Keyring is the set of keyring operations the store needs. The OS
// implementation wraps go-keyring; tests of pure logic may substitute a map.
type Keyring interface {
	Get(ctx context.Context, account string) (string, error)
	Set(ctx context.Context, account, data string) error
	Delete(ctx context.Context, account string) error
	// Items returns every item under Service, account → data, or an error
	// wrapping errors.ErrUnsupported where the backend cannot enumerate.
	Items(ctx context.Context) (map[string]string, error)
	// Stamp returns the list stamp (see Store.List), "" when none is set.
	Stamp(ctx context.Context) (string, error)
	// SetStamp replaces the list stamp.
	SetStamp(ctx context.Context, stamp string) error
}

// OSKeyring is the operating system's keyring (Secret Service, macOS
// Keychain, Windows Credential Manager) through go-keyring, under Service.
// Every call is bounded by Timeout and its errors are translated into the
// sentinels above.
type OSKeyring struct {
	Timeout time.Duration
	// stamp caches where the list stamp lives, for one process (see
	// NewOSKeyring); nil looks it up on every call.
	stamp *stampItem
}

// NewOSKeyring returns the OS keyring with each call bounded by timeout,
// remembering for the life of the process where its list stamp lives.
func NewOSKeyring(timeout time.Duration) OSKeyring {
	return OSKeyring{Timeout: timeout, stamp: &stampItem{}}
}

// goStamp and goSetStamp keep the list stamp as an ordinary item, where the
// backend has no cheaper place for it.
func (k OSKeyring) goStamp(ctx context.Context) (string, error) {
	v, err := k.Get(ctx, stampAccount)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	return v, err
}

func (k OSKeyring) goSetStamp(ctx context.Context, stamp string) error {
	return k.Set(ctx, stampAccount, stamp)
}

// Get returns the data stored under account, or ErrNotFound.
func (k OSKeyring) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func() (err error) {
		data, err = gokeyring.Get(Service, account)
		return err
	})
	return data, err
}

// Set stores data under account, replacing what was there.
func (k OSKeyring) Set(ctx context.Context, account, data string) error {
	return k.call(ctx, func() error {
		beforeSet()
		return gokeyring.Set(Service, account, data)
	})
}

// Delete removes account; a missing account is ErrNotFound.
func (k OSKeyring) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func() error { return gokeyring.Delete(Service, account) })
}

// call runs one keyring call with the time bound. go-keyring calls cannot
// be cancelled; on time-out the call is abandoned and may still complete
// later (the store's write order allows for that; see Store.Put).
func (k OSKeyring) call(ctx context.Context, fn func() error) error {
	if err := checkBackend(); err != nil {
		return err
	}
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- diagnose(translate(fn())) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("%w (waited %s)", ErrKeyringTimeout, timeout)
		}
		return ctx.Err()
	}
}

// translate maps go-keyring's and D-Bus's errors to this package's sentinels.
// The D-Bus errors only exist as text, so they are matched by their names.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gokeyring.ErrNotFound) {
		return ErrNotFound
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "org.freedesktop.secrets was not provided"),
		strings.Contains(msg, "ServiceUnknown"):
		return ErrNoProvider
	case strings.Contains(msg, "Object does not exist at path") && strings.Contains(msg, "/org/freedesktop/secrets/"):
		return ErrNoCollection
	case strings.Contains(msg, "failed to unlock correct collection"):
		return ErrLocked
	case strings.Contains(msg, "dbus: couldn't determine address"),
		strings.Contains(msg, "connect: no such file or directory"),
		strings.Contains(msg, "connect: connection refused"):
		return noBus(err)
	}
	return fmt.Errorf("keyring: %w", err)
}

// Probe checks the keyring answers, by looking up an account that never
// exists: nil means it works; otherwise one of the sentinel errors says why.
func (k OSKeyring) Probe(ctx context.Context) error {
	_, err := k.Get(ctx, probeAccount)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}
