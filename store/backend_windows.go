package store

import (
	"context"
	"strings"

	"github.com/danieljoos/wincred"
)

// BackendName names the OS keyring regcred uses here: Credential Manager.
const BackendName = "Windows Credential Manager"

// checkBackend has nothing to check: Credential Manager is always there.
func checkBackend() error { return nil }

// diagnose has nothing to refine on Windows.
func diagnose(err error) error { return err }

// beforeSet has nothing to prepare on Windows.
func beforeSet() {}

// targetPrefix starts every target name go-keyring writes for Service.
const targetPrefix = Service + ":"

// Items enumerates Credential Manager with a filter on Service's target
// names (CredEnumerate returns each credential's blob too), account → data.
func (k OSKeyring) Items(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	err := k.call(ctx, func() error {
		creds, err := wincred.FilteredList(targetPrefix + "*") // none matching is an empty list
		if err != nil {
			return err
		}
		for _, c := range creds {
			if account, ok := strings.CutPrefix(c.TargetName, targetPrefix); ok {
				out[account] = string(c.CredentialBlob)
			}
		}
		return nil
	})
	return out, err
}

// stampItem caches nothing here: the stamp is an ordinary item.
type stampItem struct{}

// Stamp reads the list stamp, an ordinary credential here (writing one is
// cheap: Credential Manager does not rewrite a file per write).
func (k OSKeyring) Stamp(ctx context.Context) (string, error) { return k.goStamp(ctx) }

// SetStamp replaces the list stamp.
func (k OSKeyring) SetStamp(ctx context.Context, stamp string) error {
	return k.goSetStamp(ctx, stamp)
}
