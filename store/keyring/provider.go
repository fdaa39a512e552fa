package keyring

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
)

// Provider is the program serving the Secret Service on the session bus.
type Provider struct {
	Program string // the program's file name: gnome-keyring-daemon, keepassxc, kwalletd5, …
	Version string // as the program reports it; "" when it could not be read
	PID     uint32
	exe     string // the program's path, as the kernel gives it
}

// String names the provider in the user's words: "KeePassXC 2.7.4".
func (p Provider) String() string {
	name := p.Program
	switch {
	case p.Program == "gnome-keyring-daemon":
		name = "GNOME Keyring"
	case p.keepassxc():
		name = "KeePassXC"
	case p.kwallet():
		name = "KWallet (" + p.Program + ")"
	case name == "":
		name = "an unknown program"
	}
	if p.Version == "" {
		return name + ", version unknown"
	}
	return name + " " + p.Version
}

func (p Provider) keepassxc() bool { return strings.HasPrefix(p.Program, "keepassxc") }

// Faults are the provider's known faults that reach regcred, each with
// what regcred does about it, in one line each.
func (p Provider) Faults() []string {
	var out []string
	if p.replaceWaits() {
		out = append(out, "KeePassXC before 2.7.6 asks a person to confirm every replaced item, even with confirmation off (keepassxreboot/keepassxc#9690): regcred updates such items in place instead")
	}
	if p.keepassxc() {
		out = append(out,
			"KeePassXC serves secrets only while its database is open and unlocked: keep KeePassXC running, or a docker command waits REGCRED_TIMEOUT and fails",
			"KeePassXC saves its database in a thread while it serves requests, and a write that lands during a save can crash it, whichever program writes: regcred waits for the save its last writes started to end before it writes again (a login right after another can take a save longer)",
			"KeePassXC moves a deleted item to its Recycle Bin and keeps a replaced secret in the entry's history, both in the database file, where no Secret Service client can reach them: docker logout and a new login leave the old secret there; to have it gone, turn the Recycle Bin off and set the history to 0 items (Database Settings), or empty both by hand",
			"KeePassXC asks before it lets a program read an item (Settings → Secret Service Integration): allow docker-credential-regcred and tick Remember, or every docker command asks again")
	}
	if strings.HasPrefix(p.Program, "kwalletd") {
		out = append(out, "KWallet keeps an item's old label when the item is replaced: regcred writes the label again after each store, and list reads the items themselves")
	}
	return out
}

// kwallet reports whether the provider is KWallet's kwalletd.
func (p Provider) kwallet() bool { return strings.HasPrefix(p.Program, "kwalletd") }

// labelsTrue reports whether an item's label always matches its secret:
// true of gnome-keyring, whose CreateItem writes both at once. KWallet
// keeps the old label on replace and KeePassXC's in-place update writes
// the label apart from the secret, so a helper killed in between leaves an
// old label; an untested provider is assumed to do the same.
func (p Provider) labelsTrue() bool { return p.Program == "gnome-keyring-daemon" }

// replaceWaits reports whether CreateItem with replace set would wait for
// a person to confirm (keepassxreboot/keepassxc#9690, fixed in 2.7.6).
func (p Provider) replaceWaits() bool { return p.keepassxc() && p.before(2, 7, 6) }

// before reports whether the version is known to be older than
// major.minor.patch, or is not known at all: a fault is assumed present
// until the version says it is fixed.
func (p Provider) before(major, minor, patch int) bool {
	v := parseVersion(p.Version)
	if v == nil {
		return true
	}
	want := []int{major, minor, patch}
	for i := range want {
		if v[i] != want[i] {
			return v[i] < want[i]
		}
	}
	return false
}

var versionRE = regexp.MustCompile(`(\d+)\.(\d+)(?:\.(\d+))?`)

// parseVersion reads the first a.b[.c] in s; nil when there is none.
func parseVersion(s string) []int {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return nil
	}
	v := make([]int, 3)
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v
}

// hint is the one-line error for err (ErrNoCollection, ErrLocked or
// ErrKeyringTimeout, possibly wrapped) from this provider, with its fix;
// "" where the sentinel's own text says it (gnome-keyring's).
func (p Provider) hint(err error) string {
	var what string
	switch {
	case p.keepassxc():
		switch {
		case errors.Is(err, ErrNoCollection):
			what = "KeePassXC exposes no collection: open its database, and expose a group in Database Settings → Secret Service Integration"
		case errors.Is(err, ErrLocked):
			what = "the KeePassXC database is locked: unlock it in KeePassXC"
		default:
			what = "KeePassXC did not answer in time (it may be waiting for you to unlock its database or confirm access): unlock it, or raise REGCRED_TIMEOUT"
		}
	case p.kwallet():
		switch {
		case errors.Is(err, ErrNoCollection):
			what = "KWallet exposes no collection: enable the wallet in System Settings → KDE Wallet, and open it"
		case errors.Is(err, ErrLocked):
			what = "the KDE wallet is closed: open it (pam_kwallet opens it at login; kwalletmanager5 opens it by hand)"
		default:
			what = "KWallet did not answer in time (it may be asking for the wallet's password): open the wallet, or raise REGCRED_TIMEOUT"
		}
	default:
		return ""
	}
	if _, waited, ok := strings.Cut(err.Error(), " (waited "); ok {
		what += " (waited " + waited
	}
	return what
}
