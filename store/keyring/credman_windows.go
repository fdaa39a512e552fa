package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/danieljoos/wincred"
	gokeyring "github.com/zalando/go-keyring"
)

// CredentialManager is Windows Credential Manager. Items are generic
// credentials named Service:account, as go-keyring names them, so go-keyring
// reads and deletes them; Set writes through wincred, which go-keyring
// wraps, to show the username beside the item.
type CredentialManager struct {
	opts Options
}

// NewCredentialManager returns Credential Manager, each call bounded by
// opts.Timeout.
func NewCredentialManager(opts Options) *CredentialManager {
	return &CredentialManager{opts: opts}
}

var _ OS = (*CredentialManager)(nil)

// targetPrefix starts every target name go-keyring writes for Service.
const targetPrefix = Service + ":"

// errMoreData is ERROR_MORE_DATA, which Wine's CredEnumerateW returns when
// a credential is written while it enumerates.
var errMoreData = syscall.Errno(234)

// maxUserName is how much of a username Credential Manager shows
// (CRED_MAX_USERNAME_LENGTH is 513; the whole username is in the item).
const maxUserName = 256

// Name names the keyring in the user's words.
func (k *CredentialManager) Name() string { return "Windows Credential Manager" }

// ItemLimit is the largest item the keyring takes.
func (k *CredentialManager) ItemLimit() int { return CredentialManagerItemLimit }

// Probe checks the keyring answers.
func (k *CredentialManager) Probe(ctx context.Context) error {
	_, err := k.Get(ctx, ProbeAccount)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Get returns the data stored under account.
func (k *CredentialManager) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func() (err error) {
		data, err = gokeyring.Get(Service, account)
		return err
	})
	return data, err
}

// Set writes the credential in one CredWrite, which replaces the old one.
func (k *CredentialManager) Set(ctx context.Context, account string, label Label, data string) error {
	if len(data) > CredentialManagerItemLimit {
		return fmt.Errorf("keyring: %d bytes is more than a credential holds (%d)", len(data), CredentialManagerItemLimit)
	}
	return k.call(ctx, func() error {
		c := wincred.NewGenericCredential(targetPrefix + account)
		c.UserName = label.User
		if r := []rune(c.UserName); len(r) > maxUserName {
			c.UserName = string(r[:maxUserName])
		}
		c.CredentialBlob = []byte(data)
		return c.Write()
	})
}

// Delete removes account's credential.
func (k *CredentialManager) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func() error { return gokeyring.Delete(Service, account) })
}

// List is one CredEnumerate filtered on Service's target names. It returns
// each credential's blob too, from which the label is read.
func (k *CredentialManager) List(ctx context.Context) (map[string]Label, error) {
	out := map[string]Label{}
	err := k.call(ctx, func() error {
		creds, err := wincred.FilteredList(targetPrefix + "*")
		for try := 0; errors.Is(err, errMoreData) && try < 5; try++ {
			creds, err = wincred.FilteredList(targetPrefix + "*") // written to meanwhile (Wine)
		}
		if errors.Is(err, syscall.ERROR_FILE_NOT_FOUND) {
			return nil // Wine's answer while nothing was ever stored (Windows': none)
		}
		if err != nil {
			return err
		}
		for _, c := range creds {
			if account, ok := strings.CutPrefix(c.TargetName, targetPrefix); ok {
				out[account] = k.opts.Format.LabelOf(string(c.CredentialBlob))
			}
		}
		return nil
	})
	return out, err
}

func (k *CredentialManager) call(ctx context.Context, fn func() error) error {
	return Bounded(ctx, k.opts.Timeout, func() error {
		err := fn()
		if errors.Is(err, gokeyring.ErrNotFound) || errors.Is(err, syscall.ERROR_NOT_FOUND) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("keyring: %w", err)
		}
		return nil
	})
}
