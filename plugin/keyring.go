package plugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/kube/dockerconfig"
	"github.com/regcred/regcred/store"
)

// keyring is the plugin's view of where credentials come from (--from):
// what list shows, read once, and get for the secrets. From docker, it
// is docker's own union of its credential sources.
type keyring struct {
	list map[string]string // server → username
	get  func(ctx context.Context, server string) (dockerconfig.Registry, bool, error)
	// unlisted, where set, finds a registry the list lacks as docker
	// would for a pull (a credential helper that lists nothing).
	unlisted func(ctx context.Context, query string) (string, bool)
	// prefetch, where set, reads the servers' credentials ahead of the
	// gets, a bounded number at a time (other helpers are processes).
	prefetch func(ctx context.Context, servers []string)
	// failed counts the failed lookups (a store's list, a registry's
	// get), each already named on stderr: the command ends non-zero.
	failed int
	// source names it in messages: "the keyring", "docker's credentials".
	source string
}

// openKeyring opens the credential source --from names.
func (o *options) openKeyring(ctx context.Context) (*keyring, error) {
	switch o.from {
	case fromKeyring:
		return o.openStore(ctx)
	case fromDocker:
		return o.openDocker(ctx)
	}
	return nil, fmt.Errorf("--from must be %q or %q, not %q", fromDocker, fromKeyring, o.from)
}

// openStore is regcred's own keyring as a source.
func (o *options) openStore(ctx context.Context) (*keyring, error) {
	st, err := o.env.OpenStore()
	if err != nil {
		return nil, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	return &keyring{list: list, get: storeGet(st), source: "the keyring"}, nil
}

// storeGet reads one credential from regcred's keyring.
func storeGet(st *store.Store) func(ctx context.Context, server string) (dockerconfig.Registry, bool, error) {
	return func(ctx context.Context, server string) (dockerconfig.Registry, bool, error) {
		c, err := st.Get(ctx, server)
		if errors.Is(err, store.ErrNotFound) {
			return dockerconfig.Registry{}, false, nil
		}
		if err != nil {
			return dockerconfig.Registry{}, false, err
		}
		return dockerconfig.Registry{Server: c.ServerURL, Username: c.Username, Password: c.Secret}, true, nil
	}
}

// lookup is a kube.Lookup on the source: the listed registry whose
// Secret key is the one asked about.
func (k *keyring) lookup(ctx context.Context) kube.Lookup {
	return func(server string) (dockerconfig.Registry, bool, error) {
		stored, ok := k.resolve(server)
		if !ok {
			return dockerconfig.Registry{}, false, nil
		}
		return k.get(ctx, stored)
	}
}

// resolve returns the stored address answering query, from the list: the
// one with query's Secret key (the same registry, or the same path scope,
// however spelt).
func (k *keyring) resolve(query string) (string, bool) {
	want := dockerconfig.SecretKey(query)
	for _, s := range slices.Sorted(maps.Keys(k.list)) {
		if dockerconfig.SecretKey(s) == want {
			return s, true
		}
	}
	return "", false
}

// selectRegistries resolves REGISTRY arguments (or, with none, every
// stored registry) to the usable stored addresses, reporting each skipped
// entry through skip.
func (k *keyring) selectRegistries(ctx context.Context, args []string, skip func(server, why string)) ([]string, error) {
	var servers []string
	if len(args) == 0 {
		for _, s := range slices.Sorted(maps.Keys(k.list)) {
			if why := dockerconfig.Unusable(s, k.list[s]); why != "" {
				skip(s, why)
				continue
			}
			servers = append(servers, s)
		}
		if len(servers) == 0 {
			if k.source == "the keyring" {
				return nil, errors.New("the keyring holds no credentials the kubelet can use (store some with docker login)")
			}
			return nil, fmt.Errorf("%s include none the kubelet can use (log in with docker login)", k.source)
		}
		return servers, nil
	}
	for _, a := range args {
		s, ok := k.resolve(a)
		if !ok && k.unlisted != nil {
			s, ok = k.unlisted(ctx, a)
		}
		if !ok {
			if k.source == "the keyring" {
				return nil, fmt.Errorf("registry %q is not in the keyring (docker-credential-regcred list shows what is)", a)
			}
			return nil, fmt.Errorf("registry %q: docker has no credentials for it (docker login %s)", a, a)
		}
		if why := dockerconfig.Unusable(s, k.list[s]); why != "" {
			return nil, fmt.Errorf("registry %q cannot go into a pull Secret: it is %s", a, why)
		}
		if !slices.Contains(servers, s) {
			servers = append(servers, s)
		}
	}
	return servers, nil
}
