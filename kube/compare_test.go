package kube

import (
	"reflect"
	"testing"

	"github.com/regcred/regcred/kube/dockerconfig"
)

func TestCompare(t *testing.T) {
	keyring := map[string]dockerconfig.Registry{
		"same.example": {Server: "same.example", Username: "u", Password: "p"},
		"pw.example":   {Server: "pw.example", Username: "u", Password: "new"},
		"user.example": {Server: "user.example", Username: "v", Password: "p"},
		"only.example": {Server: "only.example", Username: "o", Password: "p"},
	}
	lookup := func(s string) (dockerconfig.Registry, bool, error) { r, ok := keyring[s]; return r, ok, nil }
	secret := []dockerconfig.Registry{
		{Server: "same.example", Username: "u", Password: "p"},
		{Server: "pw.example", Username: "u", Password: "old"},
		{Server: "user.example", Username: "u", Password: "p"},
		{Server: "gone.example", Username: "u", Password: "p"},
	}
	rows, err := Compare(secret, lookup, []dockerconfig.Registry{keyring["only.example"], keyring["same.example"]})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.Server] = string(r.Status) + "/" + r.Detail
	}
	want := map[string]string{
		"same.example": "in sync/", "pw.example": "differs/password differs", "user.example": "differs/username differs",
		"gone.example": "not in keyring/", "only.example": "missing from Secret/",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Compare = %v\nwant %v", got, want)
	}
}
