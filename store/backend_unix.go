//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/godbus/dbus/v5"
)

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
	return ErrNoSessionBus
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

// Accounts lists the account of every item stored under Service, straight
// from the Secret Service (go-keyring cannot enumerate), for doctor.
func (k OSKeyring) Accounts(ctx context.Context) ([]string, error) {
	var accounts []string
	err := k.call(ctx, func() error {
		conn, err := dbus.SessionBus()
		if err != nil {
			return err
		}
		var unlocked, locked []dbus.ObjectPath
		svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
		if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0, map[string]string{"service": Service}).Store(&unlocked, &locked); err != nil {
			return err
		}
		if len(locked) > 0 {
			return ErrLocked
		}
		for _, p := range unlocked {
			v, err := conn.Object("org.freedesktop.secrets", p).GetProperty("org.freedesktop.Secret.Item.Attributes")
			if err != nil {
				return err
			}
			attrs, _ := v.Value().(map[string]string)
			accounts = append(accounts, attrs["username"])
		}
		return nil
	})
	return accounts, err
}
