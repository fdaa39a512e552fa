// Package keyring is the OS keyrings regcred keeps its items in, behind one
// interface: the Secret Service (gnome-keyring, KeePassXC, KWallet, each
// with its quirks: see Provider) and the kernel's persistent keyring on
// Linux, Credential Manager on Windows, the Keychain on macOS — one file
// each — and Memory, an in-memory keyring for tests. Every call is bounded
// in time, and each keyring's own errors are translated here to the
// sentinel errors below, each carrying the one line a user needs.
//
// A keyring knows nothing of what its items hold: the store (package
// store) writes them, and gives each keyring a Format to list them by.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"github.com/regcred/regcred/store/address"
	"os"
	"strings"
	"time"
)

// ProbeAccount is looked up, never stored, to check a keyring answers. It
// is no valid registry address (its "port" is not a number), so it cannot
// collide with a credential's item.
const ProbeAccount = "regcred:probe"

// Service is the keyring service name every regcred item is stored under.
// It has no colon: Windows Credential Manager target names are service:user.
const Service = "docker-credential-regcred"

// LegacyStamp is the account version 2 kept its list stamp under: in
// gnome-keyring's session collection where there was one, else beside the
// credentials. Deleting it deletes it from both.
const LegacyStamp = "regcred:stamp"

// DefaultTimeout bounds each keyring call unless REGCRED_TIMEOUT says otherwise.
const DefaultTimeout = 30 * time.Second

// Sentinel errors for the ways the OS keyring can be unusable. Each carries
// the one-line explanation a user needs; callers compare with errors.Is.
var (
	ErrNotFound     = errors.New("credentials not found")
	ErrNoSessionBus = errors.New("no D-Bus session bus")
	ErrNoProvider   = errors.New("no Secret Service provider on the D-Bus session bus: install and start one (gnome-keyring, KeePassXC with Secret Service integration, or KWallet); without a desktop: " + unlockHint)
	ErrNoCollection = errors.New("the keyring has no login or default collection: create or unlock one with " + unlockHint)
	ErrLocked       = errors.New("the keyring is locked and could not be unlocked (no unlock prompt could be shown): unlock it with " + unlockHint)
	// ErrAccessDenied: the provider asked a person whether this program may
	// read or change an item (KeePassXC's access confirmation) and was told no.
	ErrAccessDenied = errors.New("the keyring refused docker-credential-regcred the credential (its access request was declined): allow it when the keyring asks; KeePassXC remembers the answer if you tick Remember")
	// ErrDeleteDeclined: the provider asked a person to confirm a delete and
	// was told no: the item stays.
	ErrDeleteDeclined = errors.New("the keyring kept the credential: its delete confirmation was declined")
	ErrKeyringTimeout = errors.New("the keyring did not answer in time (it may be waiting on an unlock prompt); raise REGCRED_TIMEOUT or unlock the keyring")
)

// Sentinel errors of the kernel keyring.
var (
	// ErrKeyctlForbidden: keyctl(2) is refused outright, as docker's
	// default seccomp profile refuses it in containers — rightly: keys are
	// not namespaced, so outside a user namespace of its own a container
	// allowed keyctl shares its uid's keys with the host and every other
	// container of that uid. The advice says so.
	ErrKeyctlForbidden = errors.New("the kernel keyring cannot be used here: the keyctl system call is forbidden (a container's seccomp profile blocks it, as docker's default one does); log in on the host — a profile that allows keyctl would share this uid's keys with the host and every container of the same uid, unless the container has a user namespace of its own (rootless podman, dockerd --userns-remap)")
	// ErrNoKeyctl: the kernel offers no keyctl(2) at all (WSL 1, gVisor).
	ErrNoKeyctl = errors.New("the kernel keyring cannot be used here: this kernel has no keyctl system call (WSL 1 and gVisor have none); use a Secret Service instead (docker-credential-regcred configure --backend secret-service)")
	// ErrNoPersistentKeyring: a kernel built without CONFIG_PERSISTENT_KEYRINGS.
	ErrNoPersistentKeyring = errors.New("this kernel has no persistent keyrings (CONFIG_PERSISTENT_KEYRINGS): use a Secret Service instead (docker-credential-regcred configure --backend secret-service)")
	// ErrQuota: the user's key quota is full.
	ErrQuota = errors.New("the kernel keyring's quota for this user is full")
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

// Keyring is what the store needs of a keyring: items under Service, each
// named by an account, holding data and showing a Label beside it. The OS
// keyrings implement it; tests of pure logic may substitute a map.
type Keyring interface {
	// Get returns the data stored under account, or ErrNotFound.
	Get(ctx context.Context, account string) (string, error)
	// Set stores data and its label under account in one write,
	// replacing what was there.
	Set(ctx context.Context, account string, label Label, data string) error
	// Delete removes account; a missing account is ErrNotFound.
	Delete(ctx context.Context, account string) error
	// List returns every item's account and label, reading no secret
	// where the backend keeps labels apart, or an error wrapping
	// errors.ErrUnsupported where the backend cannot enumerate.
	List(ctx context.Context) (map[string]Label, error)
}

// Label is what list shows of a credential: the address as the client
// stored it and the username. Chunk items, and items an older version
// wrote, have the zero Label.
type Label struct {
	Server, User string
}

// labelPrefix starts the text of every credential label this version writes.
const labelPrefix = "Registry credentials for "

// String is the label as the keyring's own tools show it (Seahorse,
// secret-tool): "Registry credentials for ghcr.io (alice)". Addresses hold
// no white space, so the first " (" after the prefix ends the address.
//
// A label holding a brace is written in a form ParseLabel does not read,
// its braces shown as parentheses: KeePassXC resolves placeholders such as
// {TITLE} in an entry's fields and refuses {REF:…}. List then reads such a
// credential's name from the item itself.
func (l Label) String() string {
	if !l.Plain() {
		return labelPrefix + braces.Replace(l.Server) + ", its name holding braces [" + braces.Replace(l.User) + "]"
	}
	return labelPrefix + l.Server + " (" + l.User + ")"
}

// braces shows braces as parentheses.
var braces = strings.NewReplacer("{", "(", "}", ")")

// Plain reports whether the label can be written as it is: it holds no
// brace (see String).
func (l Label) Plain() bool { return !strings.ContainsAny(l.Server+l.User, "{}") }

// ParseLabel is the inverse of Label.String; the zero Label for any text
// it did not write.
func ParseLabel(s string) Label {
	rest, ok := strings.CutPrefix(s, labelPrefix)
	if !ok || !strings.HasSuffix(rest, ")") {
		return Label{}
	}
	server, user, ok := strings.Cut(rest[:len(rest)-1], " (")
	if !ok || address.Validate(server) != nil || user == "" {
		return Label{}
	}
	return Label{Server: server, User: user}
}

// LabelText is the text a keyring that shows labels shows for an item:
// the credential's label, or a chunk's own account name.
func LabelText(account string, l Label) string {
	if l == (Label{}) {
		return account
	}
	return l.String()
}

// accountOf reads an item's account and label back from LabelText: a
// credential's account is its address's canonical form. ok is false for
// text this version did not write.
func accountOf(f Format, text string) (string, Label, bool) {
	if f.IsChunk(text) {
		return text, Label{}, true
	}
	if l := ParseLabel(text); l != (Label{}) {
		return address.Canonical(l.Server), l, true
	}
	return "", Label{}, false
}

// Options are what every keyring is made with.
type Options struct {
	// Timeout bounds each keyring call; DefaultTimeout when zero.
	Timeout time.Duration
	// Format is the store's item format, which List reads items by.
	Format Format
	// LockPath is the store's writers' lock. A keyring that paces writers
	// keeps its record beside it (KeePassXC's bursts: see
	// Provider.beforeWrite), which only the lock's holder writes; none
	// when empty.
	LockPath string
	// CacheDir holds a keyring's cache: the macOS list (see ListCache).
	CacheDir string
}

// Format is what a keyring needs to know of the items the store writes, to
// list them without reading what it need not: which accounts are chunks
// of a secret (they carry no label), and the label an item's content
// holds, for keyrings that keep no label apart from it.
type Format interface {
	// IsChunk reports whether account names a chunk item.
	IsChunk(account string) bool
	// LabelOf is the label in an item's content: the zero Label for
	// content the store's current version did not write.
	LabelOf(data string) Label
}

// Bounded runs one keyring call with a time bound. Keyring calls cannot be
// cancelled; on time-out the call is abandoned and may still complete later
// (the store's write order allows for that; see the package comment).
func Bounded(ctx context.Context, timeout time.Duration, fn func() error) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fn() }()
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
