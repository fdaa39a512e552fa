package store

import (
	"testing"

	"github.com/regcred/regcred/store/address"
	"github.com/regcred/regcred/store/keyring"
)

func TestKeyForIsOneAccountPerRegistry(t *testing.T) {
	// Every spelling of a registry must reach the same keyring account, in
	// lowercase, so that case-insensitive backends (Windows) and
	// case-sensitive ones keep exactly one item per registry.
	tests := []struct {
		spellings []string
		want      string
	}{
		{[]string{address.DockerHub, "docker.io", "index.docker.io", "registry-1.docker.io", "HTTPS://Index.Docker.IO/v1/"}, "docker.io"},
		{[]string{"reg.example.com", "Reg.Example.com", "https://REG.example.com/", "http://reg.example.com/v2/"}, "reg.example.com"},
		{[]string{"127.0.0.1:5000", "http://127.0.0.1:5000/"}, "127.0.0.1:5000"},
		{[]string{"ghcr.io/Org", "https://ghcr.io/org/"}, "ghcr.io/org"},
		{[]string{"https://index.docker.io/v1/access-token", "docker.io/v1/Access-Token"}, "docker.io/v1/access-token"},
	}
	for _, tt := range tests {
		for _, s := range tt.spellings {
			if got := keyFor(s); got != tt.want {
				t.Errorf("keyFor(%q) = %q, want %q", s, got, tt.want)
			}
		}
	}
	for _, reserved := range []string{keyring.LegacyStamp, probeAccount, chunkName("docker.io", "a", 1), chunkPrefix + "0123456789abcdef0123456789abcdef:1"} {
		if address.Validate(reserved) == nil {
			t.Errorf("reserved account %q is a valid registry address: it could collide with a credential", reserved)
		}
	}
}
