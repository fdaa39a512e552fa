package e2e_test

import (
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// useWorldEnv points this test process at the world, so that
// authn.DefaultKeychain (docker/cli's config loader underneath) finds
// config.json and calls the helper exactly as crane, ko and others do.
func useWorldEnv(t *testing.T, w *world) {
	for k, v := range w.env {
		t.Setenv(k, v)
	}
}

// resolve asks go-containerregistry's default keychain for the credentials
// of a registry ("host") or of an image's repository ("host/repo", "nginx").
func resolve(t *testing.T, target string) *authn.AuthConfig {
	t.Helper()
	var res authn.Resource
	if reg, err := name.NewRegistry(target); err == nil && !strings.Contains(target, "/") && strings.Contains(target, ".") {
		res = reg
	} else if ref, err := name.ParseReference(target); err == nil {
		res = ref.Context()
	} else {
		t.Fatalf("parse %q: %v", target, err)
	}
	a, err := authn.DefaultKeychain.Resolve(res)
	if err != nil {
		t.Fatalf("resolve %s: %v", target, err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatalf("authorization for %s: %v", target, err)
	}
	return cfg
}

func TestDockerHubAliasesThroughKeychain(t *testing.T) {
	for _, storedAs := range []string{"https://index.docker.io/v1/", "docker.io"} {
		t.Run("stored as "+storedAs, func(t *testing.T) {
			w := newWorld(t)
			useWorldEnv(t, w)
			if err := client.Store(w.helper(), &credentials.Credentials{ServerURL: storedAs, Username: "hubuser", Secret: "hubpass"}); err != nil {
				t.Fatal(err)
			}
			for _, asked := range []string{"index.docker.io", "docker.io", "registry-1.docker.io", "nginx", "docker.io/x/y"} {
				cfg := resolve(t, asked)
				if cfg.Username != "hubuser" || cfg.Password != "hubpass" {
					t.Errorf("keychain for %q = %q/%q, want hubuser/hubpass", asked, cfg.Username, cfg.Password)
				}
			}
			if cfg := resolve(t, "ghcr.io/x/y"); cfg.Username != "" || cfg.Password != "" {
				t.Errorf("another registry got Docker Hub's credentials: %+v", cfg)
			}
		})
	}
}

func TestIdentityTokenThroughKeychain(t *testing.T) {
	w := newWorld(t)
	useWorldEnv(t, w)
	host := w.registry.Host
	if err := client.Store(w.helper(), &credentials.Credentials{ServerURL: host, Username: "<token>", Secret: "identity-token-value"}); err != nil {
		t.Fatal(err)
	}
	cfg := resolve(t, host+"/janedoe/private")
	if cfg.IdentityToken != "identity-token-value" || cfg.Password != "" || cfg.Username != "" {
		t.Errorf("identity token came back as %+v; want IdentityToken only", cfg)
	}
}
