package kube

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/regcred/regcred/kube/dockerconfig"
)

// TestOthersAccounts (issue 29, point 1): an entry for one of ours under
// another username is a teammate's — however the registry is spelt; the
// same username with a new password is a rotation.
func TestOthersAccounts(t *testing.T) {
	e := func(s string) json.RawMessage { return json.RawMessage(s) }
	existing := dockerconfig.Auths{
		"https://ghcr.io": e(`{"username":"alice","password":"a","auth":"YWxpY2U6YQ=="}`),
		"quay.io":         e(`{"auth":"Y2Fyb2w6b2xk"}`), // carol:old
		"other.example":   e(`{"auth":"eDp5"}`),
	}
	ours := dockerconfig.Auths{
		"ghcr.io": e(`{"username":"carol","password":"c","auth":"Y2Fyb2w6Yw=="}`),
		"quay.io": e(`{"username":"carol","password":"new","auth":"Y2Fyb2w6bmV3"}`),
	}
	if got, want := othersAccounts(existing, ours), []string{"https://ghcr.io (alice)"}; !slices.Equal(got, want) {
		t.Errorf("othersAccounts = %q, want %q", got, want)
	}
}
