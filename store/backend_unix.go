//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/godbus/dbus/v5"
	ss "github.com/zalando/go-keyring/secret_service"
)

// BackendName names the OS keyring regcred uses here: the Secret Service (gnome-keyring, KeePassXC, KWallet) over D-Bus.
const BackendName = "Secret Service"

// checkBackend refuses to talk to the Secret Service when there is no
// session bus to reach it on. Without this check godbus would autolaunch a
// private bus with dbus-launch, which holds no keyring and outlives us. It
// looks where godbus looks (the environment, then /run/user/UID), and no
// further: every other case is one godbus would autolaunch for.
func checkBackend() error {
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

// diagnose tells a missing collection from a locked one. go-keyring falls
// back from the login collection to the "default" alias; when neither
// exists (gnome-keyring started without a password, as on a headless
// machine) its unlock fails exactly as for a locked collection. Only called
// on that error path, so a working keyring pays nothing for it.
func diagnose(err error) error {
	if !errors.Is(err, ErrLocked) {
		return err
	}
	conn, cerr := dbus.SessionBus()
	if cerr != nil {
		return err
	}
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	v, perr := svc.GetProperty("org.freedesktop.Secret.Service.Collections")
	if perr != nil {
		return err
	}
	paths, _ := v.Value().([]dbus.ObjectPath)
	if slices.Contains(paths, "/org/freedesktop/secrets/collection/login") {
		return err
	}
	var alias dbus.ObjectPath
	if svc.Call("org.freedesktop.Secret.Service.ReadAlias", 0, "default").Store(&alias) == nil && alias == "/" {
		return ErrNoCollection
	}
	return err
}

// beforeSet works around a gnome-keyring bug (GNOME/gnome-keyring#190,
// #194): the daemon registers a new D-Bus client asynchronously, and when a
// client's very first request is OpenSession — as in go-keyring's Set — it
// can find no client record and abort, taking every stored secret offline
// until it restarts. (A first SearchItems fails instead, with "Method
// SearchItems is not implemented on interface ..."; go-keyring's Get and
// Delete, and doctor, read a property first already.) A credential helper is a stream of short-lived clients,
// so it hits this within a few hundred stores. Reading a property first
// (as go-keyring's Get and libsecret do) lets the daemon register us before
// OpenSession arrives. It shares go-keyring's connection, so we are the same
// client, and costs one round trip.
func beforeSet() {
	conn, err := dbus.SessionBus()
	if err != nil {
		return // go-keyring will report it
	}
	_, _ = conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets").
		GetProperty("org.freedesktop.Secret.Service.Collections")
}

// Secret Service names used below.
const (
	ssName          = "org.freedesktop.secrets"
	ssItemInterface = "org.freedesktop.Secret.Item"
	// sessionCollection is gnome-keyring's in-memory collection. The list
	// stamp lives there: writing it costs no disk write (a login-collection
	// write makes gnome-keyring rewrite its whole file), and losing it on a
	// daemon restart only makes the next list rebuild its cache once.
	sessionCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/session")
)

// Items returns every item under Service in the collection go-keyring
// uses, account → data: one search, one attribute read per item, and all
// the secrets in one GetSecrets call.
func (k OSKeyring) Items(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := k.call(ctx, func() error {
		svc, err := ss.NewSecretService()
		if err != nil {
			return err
		}
		coll := svc.GetLoginCollection() // reads a property first (see beforeSet)
		if err := svc.Unlock(coll.Path()); err != nil {
			return err
		}
		paths, err := svc.SearchItems(coll, map[string]string{"service": Service})
		if err != nil || len(paths) == 0 {
			return err
		}
		session, err := svc.OpenSession()
		if err != nil {
			return err
		}
		defer svc.Close(session)
		var secrets map[dbus.ObjectPath]ss.Secret
		if err := svc.Object(ssName, "/org/freedesktop/secrets").
			Call("org.freedesktop.Secret.Service.GetSecrets", 0, paths, session.Path()).Store(&secrets); err != nil {
			return err
		}
		for _, p := range paths {
			v, err := svc.Object(ssName, p).GetProperty(ssItemInterface + ".Attributes")
			if err != nil {
				return err
			}
			attrs, _ := v.Value().(map[string]string)
			if sec, ok := secrets[p]; ok {
				out[attrs["username"]] = string(sec.Value)
			}
		}
		return nil
	})
	return out, err
}

// stampItem remembers, for one process, where the list stamp lives: a
// list or a write reads and sets it two or three times, and after the first
// look-up each of those is one D-Bus call instead of three or four.
type stampItem struct {
	mu      sync.Mutex
	checked bool            // the provider's collections were read
	session bool            // it has a session collection
	path    dbus.ObjectPath // the stamp item in it, once known
}

// Stamp reads the list stamp from the session collection (its label), or
// from an ordinary item where the provider has no session collection.
func (k OSKeyring) Stamp(ctx context.Context) (string, error) {
	var stamp string
	ok, err := k.inSessionCollection(ctx, func(svc *ss.SecretService, st *stampItem) error {
		if st.path == "" {
			paths, err := svc.SearchItems(svc.Object(ssName, sessionCollection), stampAttributes())
			if err != nil || len(paths) == 0 {
				return err
			}
			st.path = paths[0]
		}
		v, err := svc.Object(ssName, st.path).GetProperty(ssItemInterface + ".Label")
		if err != nil {
			st.path = "" // gone (a daemon restart): look again next time
			return err
		}
		stamp, _ = v.Value().(string)
		return nil
	})
	if !ok {
		return k.goStamp(ctx)
	}
	return stamp, err
}

// SetStamp replaces the list stamp (see Stamp): it relabels the stamp item
// when there is one, and creates it otherwise.
func (k OSKeyring) SetStamp(ctx context.Context, stamp string) error {
	ok, err := k.inSessionCollection(ctx, func(svc *ss.SecretService, st *stampItem) error {
		if st.path != "" {
			err := svc.Object(ssName, st.path).SetProperty(ssItemInterface+".Label", dbus.MakeVariant(stamp))
			if err == nil {
				return nil
			}
			st.path = ""
		}
		session, err := svc.OpenSession()
		if err != nil {
			return err
		}
		defer svc.Close(session)
		props := map[string]dbus.Variant{
			ssItemInterface + ".Label":      dbus.MakeVariant(stamp),
			ssItemInterface + ".Attributes": dbus.MakeVariant(stampAttributes()),
		}
		var item, prompt dbus.ObjectPath
		err = svc.Object(ssName, sessionCollection).Call("org.freedesktop.Secret.Collection.CreateItem", 0,
			props, ss.NewSecret(session.Path(), ""), true).Store(&item, &prompt)
		if err == nil && item != "/" {
			st.path = item
		}
		return err
	})
	if !ok {
		return k.goSetStamp(ctx, stamp)
	}
	return err
}

// inSessionCollection runs fn, as one bounded keyring call, if the
// provider has a session collection; ok is false when it has none.
func (k OSKeyring) inSessionCollection(ctx context.Context, fn func(*ss.SecretService, *stampItem) error) (ok bool, err error) {
	st := k.stamp
	if st == nil {
		st = &stampItem{} // no cache: look everything up
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	ok = true
	err = k.call(ctx, func() error {
		svc, err := ss.NewSecretService()
		if err != nil {
			return err
		}
		if !st.checked {
			st.session, st.checked = hasSessionCollection(svc), true
		}
		if !st.session {
			ok = false
			return nil
		}
		return fn(svc, st)
	})
	return ok, err
}

// hasSessionCollection reads the provider's collections: also the property
// read every new client must make first (see beforeSet).
func hasSessionCollection(svc *ss.SecretService) bool {
	return svc.CheckCollectionPath(sessionCollection) == nil
}

func stampAttributes() map[string]string {
	return map[string]string{"service": Service, "username": stampAccount}
}
