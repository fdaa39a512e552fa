// Package helper speaks docker's credential-helper protocol (store, get,
// erase, list, version) on top of the keyring store. The wire format is
// docker-credential-helpers' own credentials package; this package adds the
// input checks that keep bad input from changing anything and translates
// store errors into the exact strings docker matches.
package helper

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/internal/oneline"
	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/wsl"
)

// Helper adapts a store.Store to credentials.Helper.
type Helper struct {
	ctx    context.Context
	store  *store.Store
	stderr io.Writer // diagnostics; nil: none
}

var _ credentials.Helper = (*Helper)(nil)

// New returns a Helper whose keyring calls run under ctx.
func New(ctx context.Context, s *store.Store) *Helper {
	return &Helper{ctx: ctx, store: s}
}

// Add stores (or silently replaces) the credential for c.ServerURL.
func (h *Helper) Add(c *credentials.Credentials) error {
	return h.store.Put(h.ctx, store.Credential{ServerURL: c.ServerURL, Username: c.Username, Secret: c.Secret})
}

// Delete erases the credential for serverURL; an unknown server is not an error.
func (h *Helper) Delete(serverURL string) error {
	return h.store.Erase(h.ctx, serverURL)
}

// Get returns the username and secret stored for serverURL or an
// equivalent spelling of it.
func (h *Helper) Get(serverURL string) (string, string, error) {
	c, err := h.store.Get(h.ctx, serverURL)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if wsl.Unreachable(err) {
		// docker fails a pull on any other answer, public images too:
		// answer as if nothing were stored, and say why where a person
		// reads it (store, erase and list still fail).
		if h.stderr != nil {
			fmt.Fprintf(h.stderr, "%s: answering \"not found\" for %s: %s\n", Name, printable(serverURL), oneline.Error(err))
		}
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	if err != nil {
		return "", "", err
	}
	return c.Username, c.Secret, nil
}

// List returns server → username for every stored credential; never nil.
func (h *Helper) List() (map[string]string, error) {
	return h.store.List(h.ctx)
}
