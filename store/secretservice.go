//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
	ss "github.com/zalando/go-keyring/secret_service"
)

// Secret Service names used below.
const (
	ssName            = "org.freedesktop.secrets"
	ssPath            = "/org/freedesktop/secrets"
	ssItemInterface   = "org.freedesktop.Secret.Item"
	ssCollections     = "org.freedesktop.Secret.Service.Collections"
	ssLoginCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/login")
	ssDefaultAlias    = dbus.ObjectPath("/org/freedesktop/secrets/aliases/default")
	ssIsLocked        = "org.freedesktop.Secret.Error.IsLocked"
)

// SecretService is the freedesktop Secret Service (gnome-keyring, KeePassXC,
// KWallet) on the D-Bus session bus, through go-keyring's secret_service
// package. Items carry go-keyring's attributes (service, and the account as
// "username"), so go-keyring and secret-tool find them too; the Label is
// the item's label, written in the same CreateItem call as its secret.
type SecretService struct {
	timeout time.Duration

	mu         sync.Mutex
	svc        *ss.SecretService
	collection dbus.ObjectPath // login, or the default alias
	session    dbus.ObjectPath // opened once, closed with the connection
}

// NewSecretService returns the Secret Service keyring, each call bounded by timeout.
func NewSecretService(timeout time.Duration) *SecretService {
	return &SecretService{timeout: timeout}
}

var _ OSKeyring = (*SecretService)(nil)

// Name names the keyring in the user's words.
func (k *SecretService) Name() string { return "Secret Service" }

// ItemLimit is the largest item the keyring takes.
func (k *SecretService) ItemLimit() int { return secretServiceItemLimit }

// Probe checks the keyring answers and its collection is unlocked (or can
// be): nil means it works; otherwise one of the sentinel errors says why.
func (k *SecretService) Probe(ctx context.Context) error {
	return k.call(ctx, func(svc *ss.SecretService) error {
		v, err := svc.Object(ssName, k.collection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err != nil {
			return err
		}
		if locked, _ := v.Value().(bool); locked {
			return svc.Unlock(k.collection)
		}
		return nil
	})
}

// Get returns the data stored under account. An item replaced or
// deleted between the search and the read is looked up again.
func (k *SecretService) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func(svc *ss.SecretService) error {
		return retryGone(func() error {
			paths, err := k.find(svc, account)
			if err != nil {
				return err
			}
			return k.unlocked(svc, func() error {
				session, err := k.openSession(svc)
				if err != nil {
					return err
				}
				secret, err := svc.GetSecret(paths[0], session)
				if err == nil {
					data = string(secret.Value)
				}
				return err
			})
		})
	})
	return data, err
}

// retryGone runs fn again while it fails because an item it found was
// gone by the time it used it: another process replaced or deleted it.
func retryGone(fn func() error) error {
	err := fn()
	for try := 0; try < 10 && itemGone(err); try++ {
		err = fn()
	}
	return err
}

// itemGone reports whether err says the object called is no longer there.
func itemGone(err error) bool {
	var e dbus.Error
	return errors.As(err, &e) && (e.Name == "org.freedesktop.DBus.Error.UnknownObject" ||
		e.Name == "org.freedesktop.DBus.Error.UnknownMethod" || e.Name == "org.freedesktop.Secret.Error.NoSuchObject")
}

// Set stores data and label under account, replacing the item there: one
// CreateItem call with replace set, so the switch to the new item is one
// write.
func (k *SecretService) Set(ctx context.Context, account string, label Label, data string) error {
	return k.call(ctx, func(svc *ss.SecretService) error {
		return k.unlocked(svc, func() error {
			session, err := k.openSession(svc)
			if err != nil {
				return err
			}
			attrs := map[string]string{"service": Service, "username": account}
			return svc.CreateItem(svc.Object(ssName, k.collection), labelText(account, label), attrs, ss.NewSecret(session, data))
		})
	})
}

// Delete removes account's item (every one, should a provider have made
// two); one deleted meanwhile by another process is deleted already.
func (k *SecretService) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func(svc *ss.SecretService) error {
		paths, err := k.find(svc, account)
		if err != nil {
			return err
		}
		return k.unlocked(svc, func() error {
			for _, p := range paths {
				if err := svc.Delete(p); err != nil && !itemGone(err) {
					return err
				}
			}
			return nil
		})
	})
}

// List is one search and one property read per item, all requested before
// the first answer is read: no secret crosses the bus. It reads labels
// only, which name the item's account too (see accountOf); just the items
// whose label this version did not write also have their attributes read.
func (k *SecretService) List(ctx context.Context) (map[string]Label, error) {
	out := map[string]Label{}
	err := k.call(ctx, func(svc *ss.SecretService) error {
		paths, err := svc.SearchItems(svc.Object(ssName, k.collection), map[string]string{"service": Service})
		if err != nil {
			return err
		}
		labels, err := properties(svc, paths, "Label")
		if err != nil {
			return err
		}
		var others []dbus.ObjectPath
		for _, p := range paths {
			text, _ := labels[p].(string)
			if account, l, ok := accountOf(text); ok {
				out[account] = l
			} else {
				others = append(others, p)
			}
		}
		attrs, err := properties(svc, others, "Attributes")
		for _, p := range others {
			a, _ := attrs[p].(map[string]string)
			if account := a["username"]; account != "" && a["service"] == Service {
				out[account] = Label{}
			}
		}
		return err
	})
	return out, err
}

// properties reads one Item property of every path, pipelined. An item
// deleted since the search is left out.
func properties(svc *ss.SecretService, paths []dbus.ObjectPath, name string) (map[dbus.ObjectPath]any, error) {
	replies := make(chan *dbus.Call, len(paths))
	for _, p := range paths {
		svc.Object(ssName, p).Go("org.freedesktop.DBus.Properties.Get", 0, replies, ssItemInterface, name)
	}
	out := make(map[dbus.ObjectPath]any, len(paths))
	var err error
	for range paths {
		c := <-replies
		var v dbus.Variant
		if cerr := c.Store(&v); cerr != nil {
			if !itemGone(cerr) && err == nil {
				err = cerr
			}
			continue
		}
		out[c.Path] = v.Value()
	}
	return out, err
}

// find returns the items stored under account, or ErrNotFound.
func (k *SecretService) find(svc *ss.SecretService, account string) ([]dbus.ObjectPath, error) {
	paths, err := svc.SearchItems(svc.Object(ssName, k.collection), map[string]string{"service": Service, "username": account})
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, ErrNotFound
	}
	return paths, nil
}

// unlocked runs fn, and once more after unlocking the collection if it
// was locked (the provider may then show an unlock prompt).
func (k *SecretService) unlocked(svc *ss.SecretService, fn func() error) error {
	err := fn()
	var dbusErr dbus.Error
	if !errors.As(err, &dbusErr) || dbusErr.Name != ssIsLocked {
		return err
	}
	if err := svc.Unlock(k.collection); err != nil {
		return err
	}
	return fn()
}

// openSession opens the plain-text transfer session once per keyring: the
// secret crosses only the private, per-user session bus.
func (k *SecretService) openSession(svc *ss.SecretService) (dbus.ObjectPath, error) {
	if k.session == "" {
		s, err := svc.OpenSession()
		if err != nil {
			return "", err
		}
		k.session = s.Path()
	}
	return k.session, nil
}

// call runs fn as one bounded keyring call, connecting first if need be,
// and translates the errors. The first request of a connection reads the
// provider's collections: a property read, which lets gnome-keyring
// register the client before a method that needs the registration arrives
// (GNOME/gnome-keyring#190, #194: OpenSession first aborts the daemon,
// taking every stored secret offline).
func (k *SecretService) call(ctx context.Context, fn func(*ss.SecretService) error) error {
	if err := checkBus(); err != nil {
		return err
	}
	return bounded(ctx, k.timeout, func() error {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.svc == nil || !k.svc.Connected() {
			svc, err := ss.NewSecretService()
			if err != nil {
				return translate(err)
			}
			v, err := svc.Object(ssName, ssPath).GetProperty(ssCollections)
			if err != nil {
				return translate(err)
			}
			paths, _ := v.Value().([]dbus.ObjectPath)
			k.svc, k.collection, k.session = svc, ssDefaultAlias, ""
			if slices.Contains(paths, ssLoginCollection) {
				k.collection = ssLoginCollection
			}
		}
		return diagnose(k.svc, translate(fn(k.svc)))
	})
}

// checkBus refuses to talk to the Secret Service when there is no session
// bus to reach it on. Without this check godbus would autolaunch a private
// bus with dbus-launch, which holds no keyring and outlives us. It looks
// where godbus looks (the environment, then /run/user/UID), and no further:
// every other case is one godbus would autolaunch for.
func checkBus() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return nil
	}
	run := fmt.Sprintf("/run/user/%d/", os.Getuid())
	for _, f := range []string{"bus", "dbus-session"} {
		if _, err := os.Stat(run + f); err == nil {
			return nil
		}
	}
	return noBus(nil)
}

// translate maps go-keyring's and D-Bus's errors to this package's sentinels.
// The D-Bus errors only exist as text, so they are matched by their names.
func translate(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return err
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

// diagnose tells a missing collection from a locked one. When neither a
// login collection nor a default alias exists (gnome-keyring started
// without a password, as on a headless machine) unlocking fails exactly as
// for a locked collection. Only called on that error path, so a working
// keyring pays nothing for it.
func diagnose(svc *ss.SecretService, err error) error {
	if !errors.Is(err, ErrLocked) {
		return err
	}
	var alias dbus.ObjectPath
	if svc.Object(ssName, ssPath).Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&alias) == nil && alias == "/" {
		if v, perr := svc.Object(ssName, ssPath).GetProperty(ssCollections); perr == nil {
			if paths, _ := v.Value().([]dbus.ObjectPath); !slices.Contains(paths, ssLoginCollection) {
				return ErrNoCollection
			}
		}
	}
	return err
}
