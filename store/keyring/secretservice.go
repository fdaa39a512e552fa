//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

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
	// ssSessionCollection is gnome-keyring's in-memory collection.
	ssSessionCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/session")
	ssIsLocked          = "org.freedesktop.Secret.Error.IsLocked"
)

// SecretService is the freedesktop Secret Service (gnome-keyring, KeePassXC,
// KWallet) on the D-Bus session bus, through go-keyring's secret_service
// package. Items carry go-keyring's attributes (service, and the account as
// "username"), so go-keyring and secret-tool find them too; the Label is
// the item's label, written in the same CreateItem call as its secret.
type SecretService struct {
	opts Options

	mu          sync.Mutex
	svc         *ss.SecretService
	collection  dbus.ObjectPath // login, or the default alias
	session     dbus.ObjectPath // opened once, closed with the connection
	provider    *Provider       // the program serving the connection, found once
	versionRead bool            // provider.Version has been read
}

// NewSecretService returns the Secret Service keyring, each call bounded by
// opts.Timeout.
func NewSecretService(opts Options) *SecretService {
	return &SecretService{opts: opts}
}

var _ OS = (*SecretService)(nil)

// Name names the keyring in the user's words.
func (k *SecretService) Name() string { return "Secret Service" }

// ItemLimit is the largest item the keyring takes.
func (k *SecretService) ItemLimit() int { return SecretServiceItemLimit }

// Probe checks the keyring answers and its collection is unlocked (or can
// be): nil means it works; otherwise one of the sentinel errors says why.
func (k *SecretService) Probe(ctx context.Context) error {
	return k.call(ctx, func(svc *ss.SecretService) error {
		v, err := svc.Object(ssName, k.collection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		if err != nil {
			return err
		}
		if locked, _ := v.Value().(bool); locked {
			return k.unlock(svc)
		}
		return nil
	})
}

// Get returns the data stored under account. An item replaced or
// deleted between the search and the read is looked up again: so is one
// whose object path names another item by the time it is read (KWallet
// reuses the paths of deleted items), which the item's attributes, read
// right after its secret, show.
func (k *SecretService) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func(svc *ss.SecretService) error {
		return retryGone(func() error {
			paths, err := k.find(svc, account)
			if err != nil {
				return err
			}
			return k.unlocked(svc, constPaths(paths[:1]), func() error {
				session, err := k.openSession(svc)
				if err != nil {
					return err
				}
				obj := svc.Object(ssName, paths[0])
				secretCall := obj.Go(ssItemInterface+".GetSecret", 0, nil, session)
				attrsCall := obj.Go("org.freedesktop.DBus.Properties.Get", 0, nil, ssItemInterface, "Attributes")
				var secret ss.Secret
				if err := (<-secretCall.Done).Store(&secret); err != nil {
					return err
				}
				var attrs dbus.Variant
				if err := (<-attrsCall.Done).Store(&attrs); err != nil {
					return err
				}
				if a, _ := attrs.Value().(map[string]string); a["username"] != account || a["service"] != Service {
					return errMoved
				}
				data = string(secret.Value)
				return nil
			})
		})
	})
	return data, err
}

// constPaths is unlocked's items for paths already found.
func constPaths(paths []dbus.ObjectPath) func() ([]dbus.ObjectPath, error) {
	return func() ([]dbus.ObjectPath, error) { return paths, nil }
}

// errMoved says an object path found for an item names another one now.
var errMoved = errors.New("the item moved while it was read")

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
	if errors.Is(err, errMoved) {
		return true
	}
	var e dbus.Error
	return errors.As(err, &e) && (e.Name == "org.freedesktop.DBus.Error.UnknownObject" ||
		e.Name == "org.freedesktop.DBus.Error.UnknownMethod" || e.Name == "org.freedesktop.DBus.Error.UnknownInterface" ||
		e.Name == "org.freedesktop.Secret.Error.NoSuchObject")
}

// Set stores data and label under account, replacing the item there: one
// CreateItem call with replace set, so the switch to the new item is one
// write. Two providers need more (see Provider.Faults): KeePassXC before
// 2.7.6 would wait for a person to confirm the replace, so its item is
// updated in place, the secret first; KWallet keeps the old label on
// replace. So on every provider but gnome-keyring (see labelsTrue) the
// label is read back and written again when it did not take; list on these
// providers reads the items, not the labels, so a
// helper killed in between leaves only a keyring manager showing the old
// username until the next store.
func (k *SecretService) Set(ctx context.Context, account string, label Label, data string) error {
	want := LabelText(account, label)
	return k.call(ctx, func(svc *ss.SecretService) error {
		items := func() ([]dbus.ObjectPath, error) { return k.find(svc, account) }
		return k.unlocked(svc, items, func() error {
			session, err := k.openSession(svc)
			if err != nil {
				return err
			}
			p, err := k.providerOf(svc, true)
			if err != nil {
				return err
			}
			replaceWaits, labelsTrue := p.replaceWaits(), p.labelsTrue()
			secret := ss.NewSecret(session, data)
			if err := p.beforeWrite(k.opts.Timeout, k.opts.LockPath); err != nil {
				return err
			}
			item, err := k.updateInPlace(svc, replaceWaits, account, secret)
			if err != nil {
				return err
			}
			if item == "" {
				if item, err = k.create(svc, account, want, secret); err != nil {
					return err
				}
			}
			if labelsTrue {
				return nil // written with the secret
			}
			obj := svc.Object(ssName, item)
			v, err := obj.GetProperty(ssItemInterface + ".Label")
			if err != nil {
				return err
			}
			if v.Value() == want {
				return nil
			}
			if err := p.beforeWrite(k.opts.Timeout, k.opts.LockPath); err != nil {
				return err
			}
			return obj.SetProperty(ssItemInterface+".Label", dbus.MakeVariant(want))
		})
	})
}

// create is CreateItem with replace set; it returns the item's path.
func (k *SecretService) create(svc *ss.SecretService, account, label string, secret ss.Secret) (dbus.ObjectPath, error) {
	props := map[string]dbus.Variant{
		ssItemInterface + ".Label":      dbus.MakeVariant(label),
		ssItemInterface + ".Attributes": dbus.MakeVariant(map[string]string{"service": Service, "username": account}),
	}
	var item, prompt dbus.ObjectPath
	err := svc.Object(ssName, k.collection).Call("org.freedesktop.Secret.Collection.CreateItem", 0,
		props, secret, true).Store(&item, &prompt)
	if err != nil || prompt == "/" {
		return item, err
	}
	result, err := k.prompt(svc, prompt)
	if err != nil {
		return "", err
	}
	item, _ = result.Value().(dbus.ObjectPath)
	if item == "" || item == "/" {
		return "", fmt.Errorf("the provider created no item for %s", account)
	}
	return item, nil
}

// updateInPlace writes the secret of account's existing item with
// SetSecret, on a provider whose replace waits for a person
// (Provider.replaceWaits); it returns the item, or "" when CreateItem is
// the way (no such provider, or no item yet).
func (k *SecretService) updateInPlace(svc *ss.SecretService, replaceWaits bool, account string, secret ss.Secret) (dbus.ObjectPath, error) {
	if !replaceWaits {
		return "", nil
	}
	paths, err := k.find(svc, account)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return paths[0], svc.Object(ssName, paths[0]).Call("org.freedesktop.Secret.Item.SetSecret", 0, secret).Err
}

// providerOf finds the program serving the bus once per connection, and
// with version also its version, which only a store needs, and only from
// KeePassXC (see replaceWaits): reading it runs keepassxc-cli.
func (k *SecretService) providerOf(svc *ss.SecretService, version bool) (*Provider, error) {
	if k.provider == nil {
		p, err := providerOn(svc.Conn)
		if err != nil {
			return nil, err
		}
		k.provider = &p
	}
	if version && k.provider.keepassxc() && !k.versionRead {
		k.provider.readVersion()
		k.versionRead = true
	}
	return k.provider, nil
}

// Delete removes account's item (every one, should a provider have made
// two); one deleted meanwhile by another process is deleted already.
func (k *SecretService) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func(svc *ss.SecretService) error {
		paths, err := k.find(svc, account)
		if account == LegacyStamp {
			// Version 2 kept it in gnome-keyring's in-memory session
			// collection where there was one (absent elsewhere: no items).
			more, serr := svc.SearchItems(svc.Object(ssName, ssSessionCollection), map[string]string{"service": Service, "username": account})
			if serr == nil && len(more) > 0 && errors.Is(err, ErrNotFound) {
				paths, err = more, nil
			} else if serr == nil && err == nil {
				paths = append(paths, more...)
			}
		}
		if err != nil {
			return err
		}
		prov, err := k.providerOf(svc, false)
		if err != nil {
			return err
		}
		return k.unlocked(svc, constPaths(paths), func() error {
			for _, p := range paths {
				if err := prov.beforeWrite(k.opts.Timeout, k.opts.LockPath); err != nil {
					return err
				}
				if err := k.deleteItem(svc, p); err != nil && !itemGone(err) {
					return err
				}
			}
			return nil
		})
	})
}

// deleteItem deletes the item at path. The provider may ask a person to
// confirm (KeePassXC does by default): a declined delete is an error, not
// the success go-keyring's Delete reports for it.
func (k *SecretService) deleteItem(svc *ss.SecretService, path dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	if err := svc.Object(ssName, path).Call(ssItemInterface+".Delete", 0).Store(&prompt); err != nil {
		return err
	}
	if _, err := k.prompt(svc, prompt); errors.Is(err, ErrLocked) {
		return ErrDeleteDeclined
	} else if err != nil {
		return err
	}
	return nil
}

// List is one search and one property read per item, all requested before
// the first answer is read: no secret crosses the bus. It reads labels
// only, which name the item's account too (see accountOf); just the items
// whose label this version did not write also have their attributes read.
// On a provider whose labels can lag behind the secrets (see
// Provider.labelsTrue) it reads the items themselves instead.
func (k *SecretService) List(ctx context.Context) (map[string]Label, error) {
	out := map[string]Label{}
	err := k.call(ctx, func(svc *ss.SecretService) error {
		paths, err := k.search(svc, map[string]string{"service": Service})
		if err != nil {
			return err
		}
		p, err := k.providerOf(svc, false)
		if err != nil {
			return err
		}
		if !p.labelsTrue() {
			return k.listItems(svc, paths, out)
		}
		labels, err := properties(svc, paths, "Label")
		if err != nil {
			return err
		}
		var others []dbus.ObjectPath
		for _, p := range paths {
			text, _ := labels[p].(string)
			if account, l, ok := accountOf(k.opts.Format, text); ok {
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

// listItems fills out from the items at paths: their attributes name the
// accounts, and one GetSecrets call reads every credential's item (not the
// chunks), whose content holds its label.
func (k *SecretService) listItems(svc *ss.SecretService, paths []dbus.ObjectPath, out map[string]Label) error {
	attrs, err := properties(svc, paths, "Attributes")
	if err != nil {
		return err
	}
	accounts := map[dbus.ObjectPath]string{}
	var heads []dbus.ObjectPath
	for p, v := range attrs {
		a, _ := v.(map[string]string)
		account := a["username"]
		if account == "" || a["service"] != Service {
			continue
		}
		if k.opts.Format.IsChunk(account) {
			out[account] = Label{}
			continue
		}
		accounts[p] = account
		heads = append(heads, p)
	}
	if len(heads) == 0 {
		return nil
	}
	return k.unlocked(svc, constPaths(heads), func() error {
		session, err := k.openSession(svc)
		if err != nil {
			return err
		}
		var secrets map[dbus.ObjectPath]ss.Secret
		err = svc.Object(ssName, ssPath).Call("org.freedesktop.Secret.Service.GetSecrets", 0, heads, session).Store(&secrets)
		if err != nil {
			return err
		}
		for p, account := range accounts {
			// An item deleted since the search has no secret: left out.
			if secret, ok := secrets[p]; ok {
				out[account] = k.opts.Format.LabelOf(string(secret.Value))
			}
		}
		return nil
	})
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
	paths, err := k.search(svc, map[string]string{"service": Service, "username": account})
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, ErrNotFound
	}
	return paths, nil
}

// search finds the collection's items with attrs. A locked collection
// shows no items in KeePassXC and KWallet, so an empty answer is only
// believed from an unlocked one: a locked one is unlocked (which may
// prompt) and searched again. A found item costs nothing more.
func (k *SecretService) search(svc *ss.SecretService, attrs map[string]string) ([]dbus.ObjectPath, error) {
	coll := svc.Object(ssName, k.collection)
	paths, err := svc.SearchItems(coll, attrs)
	if err != nil || len(paths) > 0 {
		return paths, err
	}
	v, err := coll.GetProperty("org.freedesktop.Secret.Collection.Locked")
	if err != nil {
		return nil, err
	}
	if locked, _ := v.Value().(bool); !locked {
		return nil, nil
	}
	if err := k.unlock(svc); err != nil {
		return nil, err
	}
	return svc.SearchItems(coll, attrs)
}

// unlocked runs fn, and once more after unlocking the collection if it
// was locked (the provider may then show an unlock prompt). If fn still
// finds the items locked, the collection being open, the provider wants
// a person to allow this client each item — KeePassXC's "confirm when
// passwords are retrieved by clients", on by default — and the items
// items names (nil: none to ask for) are unlocked too, which shows that
// question; fn then runs a third time.
func (k *SecretService) unlocked(svc *ss.SecretService, items func() ([]dbus.ObjectPath, error), fn func() error) error {
	err := fn()
	if !isLocked(err) {
		return err
	}
	if err := k.unlock(svc); err != nil {
		return err
	}
	if err = fn(); !isLocked(err) || items == nil {
		return err
	}
	paths, ierr := items()
	if ierr != nil {
		return ierr
	}
	if err := k.unlockItems(svc, paths); err != nil {
		return err
	}
	return fn()
}

// isLocked reports whether err is the Secret Service's IsLocked.
func isLocked(err error) bool {
	var dbusErr dbus.Error
	return errors.As(err, &dbusErr) && dbusErr.Name == ssIsLocked
}

// unlockItems asks the provider to let this client use the items, which
// may show a prompt; ErrAccessDenied when the person declines.
func (k *SecretService) unlockItems(svc *ss.SecretService, paths []dbus.ObjectPath) error {
	declined, err := k.unlockPaths(svc, paths)
	if declined {
		return ErrAccessDenied
	}
	return err
}

// unlock asks the provider to unlock the collection, which may show a
// prompt; ErrLocked when it stays locked.
func (k *SecretService) unlock(svc *ss.SecretService) error {
	declined, err := k.unlockPaths(svc, []dbus.ObjectPath{k.collection})
	if !declined {
		return err
	}
	if p, perr := k.providerOf(svc, false); perr == nil && p.kwallet() && k.opened(svc) {
		return nil
	}
	return ErrLocked
}

// opened waits up to a second for the collection to show unlocked. KWallet
// answers one client's unlock as refused while another client's unlock is
// opening the wallet (2 of 8 runs of racing stores on a loaded machine
// failed "the KDE wallet is closed" so), and the collection is open a
// moment later; a refusal leaves it locked.
func (k *SecretService) opened(svc *ss.SecretService) bool {
	for range 10 {
		v, err := svc.Object(ssName, k.collection).GetProperty("org.freedesktop.Secret.Collection.Locked")
		if locked, ok := v.Value().(bool); err == nil && ok && !locked {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// unlockPaths asks the provider to unlock paths — a collection, or items
// this client may not use yet — which may show a prompt, and reports
// whether they stayed locked: the prompt dismissed, or nothing unlocked.
func (k *SecretService) unlockPaths(svc *ss.SecretService, paths []dbus.ObjectPath) (declined bool, err error) {
	var unlocked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	if err := svc.Object(ssName, ssPath).Call("org.freedesktop.Secret.Service.Unlock", 0, paths).Store(&unlocked, &prompt); err != nil {
		return false, err
	}
	if len(unlocked) == len(paths) {
		return false, nil
	}
	result, err := k.prompt(svc, prompt)
	if errors.Is(err, ErrLocked) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	got, _ := result.Value().([]dbus.ObjectPath)
	return len(got) == 0, nil
}

// prompt shows a provider's prompt, if it gave one ("/" is none), and
// waits for its own Completed signal: dismissed is ErrLocked. It waits
// until the call's time bound; a connection that closes meanwhile ends
// the wait with an error, not a crash (go-keyring's prompt handling reads
// the first signal of any kind, and a nil one when the connection closes).
func (k *SecretService) prompt(svc *ss.SecretService, prompt dbus.ObjectPath) (dbus.Variant, error) {
	if prompt == "/" || prompt == "" {
		return dbus.Variant{}, nil
	}
	match := []dbus.MatchOption{dbus.WithMatchObjectPath(prompt), dbus.WithMatchInterface("org.freedesktop.Secret.Prompt"), dbus.WithMatchMember("Completed")}
	if err := svc.AddMatchSignal(match...); err != nil {
		return dbus.Variant{}, err
	}
	defer svc.RemoveMatchSignal(match...)
	signals := make(chan *dbus.Signal, 16)
	svc.Signal(signals)
	defer svc.RemoveSignal(signals)
	if err := svc.Object(ssName, prompt).Call("org.freedesktop.Secret.Prompt.Prompt", 0, "").Err; err != nil {
		return dbus.Variant{}, err
	}
	for sig := range signals {
		if sig.Path != prompt || sig.Name != "org.freedesktop.Secret.Prompt.Completed" || len(sig.Body) < 2 {
			continue
		}
		dismissed, _ := sig.Body[0].(bool)
		result, _ := sig.Body[1].(dbus.Variant)
		if dismissed {
			return result, ErrLocked
		}
		return result, nil
	}
	return dbus.Variant{}, errors.New("the session bus closed while a prompt was shown")
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
	return withProviderHint(ctx, hintBudget(k.opts.Timeout), Bounded(ctx, k.opts.Timeout, func() error {
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
			k.svc, k.collection, k.session, k.provider, k.versionRead = svc, ssDefaultAlias, "", nil, false
			if slices.Contains(paths, ssLoginCollection) {
				k.collection = ssLoginCollection
			}
		}
		return diagnose(k.svc, translate(fn(k.svc)))
	}))
}

// withProviderHint gives a locked, missing or silent collection's error
// the fix for the provider that serves it, where that is not
// gnome-keyring (whose fix the sentinel errors carry). It asks the bus,
// not the provider, which may be the one not answering — and the bus may
// not answer either (a wedged dbus-daemon, on which an abandoned connection
// attempt holds godbus's session-bus lock for good): the question is
// bounded by budget, and unanswered leaves err as it is.
func withProviderHint(ctx context.Context, budget time.Duration, err error) error {
	if !errors.Is(err, ErrNoCollection) && !errors.Is(err, ErrLocked) && !errors.Is(err, ErrKeyringTimeout) {
		return err
	}
	var p Provider
	if Bounded(ctx, budget, func() error {
		conn, err := dbus.SessionBus()
		if err != nil {
			return err
		}
		p, err = providerOn(conn)
		return err
	}) != nil {
		return err
	}
	if h := p.hint(err); h != "" {
		return hinted{err, h}
	}
	return err
}

// hintBudget bounds asking the bus for the provider's hint: a fifth of the
// call's time-out, at most a second — so a call on a wedged bus ends
// within its time-out and a fifth.
func hintBudget(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return min(timeout/5, time.Second)
}

// hinted is an error with the fix for the provider that gave it.
type hinted struct {
	err error
	msg string
}

func (h hinted) Error() string { return h.msg }
func (h hinted) Unwrap() error { return h.err }

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
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrDeleteDeclined) || errors.Is(err, ErrLocked) {
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
