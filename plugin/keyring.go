package plugin

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/regcred/regcred/kube"
	"github.com/regcred/regcred/store"
)

// keyring is the local keyring's view for the plugin: what list shows,
// read once, and get for the secrets.
type keyring struct {
	st   *store.Store
	list map[string]string // server → username
}

func (o *options) openKeyring(ctx context.Context) (*keyring, error) {
	st, err := o.env.OpenStore()
	if err != nil {
		return nil, err
	}
	list, err := st.List(ctx)
	if err != nil {
		return nil, err
	}
	return &keyring{st: st, list: list}, nil
}

// lookup is a kube.Lookup on the keyring: the stored registry whose
// Secret key is the one asked about.
func (k *keyring) lookup(ctx context.Context) kube.Lookup {
	return func(server string) (kube.Registry, bool, error) {
		stored, ok := k.resolve(server)
		if !ok {
			return kube.Registry{}, false, nil
		}
		c, err := k.st.Get(ctx, stored)
		if errors.Is(err, store.ErrNotFound) {
			return kube.Registry{}, false, nil
		}
		if err != nil {
			return kube.Registry{}, false, err
		}
		return kube.Registry{Server: c.ServerURL, Username: c.Username, Password: c.Secret}, true, nil
	}
}

// resolve returns the stored address answering query, from the list: the
// one with query's Secret key (the same registry, or the same path scope,
// however spelt).
func (k *keyring) resolve(query string) (string, bool) {
	want := kube.SecretKey(query)
	for _, s := range slices.Sorted(maps.Keys(k.list)) {
		if kube.SecretKey(s) == want {
			return s, true
		}
	}
	return "", false
}

// selectRegistries resolves REGISTRY arguments (or, with none, every
// stored registry) to the usable stored addresses, reporting each skipped
// entry through skip.
func (k *keyring) selectRegistries(args []string, skip func(server, why string)) ([]string, error) {
	var servers []string
	if len(args) == 0 {
		for _, s := range slices.Sorted(maps.Keys(k.list)) {
			if why := kube.Unusable(s, k.list[s]); why != "" {
				skip(s, why)
				continue
			}
			servers = append(servers, s)
		}
		if len(servers) == 0 {
			return nil, errors.New("the keyring holds no credentials the kubelet can use (store some with docker login)")
		}
		return servers, nil
	}
	for _, a := range args {
		s, ok := k.resolve(a)
		if !ok {
			return nil, fmt.Errorf("registry %q is not in the keyring (docker-credential-regcred list shows what is)", a)
		}
		if why := kube.Unusable(s, k.list[s]); why != "" {
			return nil, fmt.Errorf("registry %q cannot go into a pull Secret: it is %s", a, why)
		}
		if !slices.Contains(servers, s) {
			servers = append(servers, s)
		}
	}
	return servers, nil
}
