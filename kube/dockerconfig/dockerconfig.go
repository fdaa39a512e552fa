// Package dockerconfig is the content of a kubernetes.io/dockerconfigjson
// pull Secret, as the kubelet reads it: the entries built from keyring
// credentials, byte for byte as kubectl writes them, under the keys the
// kubelet matches images against (SecretKey); their parsing, as the kubelet
// parses them; and the merge of ours into a Secret's existing entries,
// which keeps every entry and field that is not ours. It is pure logic —
// no client-go — so that it can be fuzzed and tested on its own; package
// kube writes what it builds to clusters.
package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/regcred/regcred/store/address"
)

// Registry is one registry's credential as it goes into a Secret.
type Registry struct {
	Server   string
	Username string
	Password string
	Email    string
}

// dockerConfigEntry, and the {"auths": …} object Auths.JSON puts entries
// in, mirror kubectl's own types for `kubectl create secret
// docker-registry` field for field and in order, so that what we write is
// byte-identical to what kubectl writes.
type dockerConfigEntry struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Email    string `json:"email,omitempty"`
	Auth     string `json:"auth,omitempty"`
}

// SecretKey is the key a registry's entry gets in a pull Secret: the
// spelling the kubelet matches images against. The kubelet looks images
// up by their normalised name ("nginx" is docker.io/library/nginx), matches
// host names letter for letter and a key's path as a plain prefix, and
// reads Docker Hub's host-wide entry only under index.docker.io. So the key
// is the registry's canonical address (address.Canonical: no scheme,
// lower case, no /v1/ or /v2/), with
//   - Docker Hub's host-wide entry as "https://index.docker.io/v1/", as
//     docker and kubectl write it;
//   - a path scope ending in "/", so that "ghcr.io/org/" matches
//     ghcr.io/org/app but not ghcr.io/org-other/app, and Docker Hub's path
//     scopes under "docker.io/", the host normalised image names carry.
//
// SecretKey(SecretKey(s)) == SecretKey(s), and two addresses with the same
// key are one entry.
func SecretKey(server string) string {
	host, path, _ := strings.Cut(address.Canonical(server), "/")
	if p, ok := strings.CutPrefix(path, "v1/"); ok {
		path = p
	} else if p, ok := strings.CutPrefix(path, "v2/"); ok {
		path = p
	}
	switch {
	case path == "" && host == "docker.io":
		return address.DockerHub
	case path == "":
		return host
	}
	return host + "/" + path + "/"
}

// AuthsOf builds the entries for regs, each under its SecretKey, as
// `kubectl create secret docker-registry` writes them:
// {"username","password","auth":base64(user:pass)} (Auths.JSON makes the
// .dockerconfigjson of them); two registries with one key are an error.
func AuthsOf(regs []Registry) (Auths, error) {
	out := Auths{}
	for _, r := range regs {
		if r.Server == "" {
			return nil, errors.New("dockerconfigjson: empty registry server")
		}
		server := SecretKey(r.Server)
		if _, dup := out[server]; dup {
			return nil, fmt.Errorf("dockerconfigjson: registry %s given twice", server)
		}
		entry, err := json.Marshal(dockerConfigEntry{
			Username: r.Username,
			Password: r.Password,
			Email:    r.Email,
			Auth:     base64.StdEncoding.EncodeToString([]byte(r.Username + ":" + r.Password)),
		})
		if err != nil {
			return nil, err
		}
		out[server] = entry
	}
	return out, nil
}

// Parse reads .dockerconfigjson content back into registries, sorted by
// server, as the kubelet reads it: an entry's "auth" (user:pass, split at
// the first colon) wins over its username and password, and an entry whose
// "auth" does not decode makes the kubelet reject the whole Secret — an
// error here too.
func Parse(data []byte) ([]Registry, error) {
	auths, err := ParseAuths(data)
	if err != nil {
		return nil, err
	}
	out := make([]Registry, 0, len(auths))
	for server, raw := range auths {
		r, err := ParseEntry(server, raw)
		if err != nil {
			return nil, fmt.Errorf("parse .dockerconfigjson: %s: %w", server, err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out, nil
}

// ParseEntry reads the entry raw, under server, as the kubelet reads it:
// auth (base64 of user:pass, split at the first colon) where there is one,
// else username and password.
func ParseEntry(server string, raw json.RawMessage) (Registry, error) {
	var e dockerConfigEntry
	if err := json.Unmarshal(raw, &e); err != nil {
		return Registry{}, err
	}
	r := Registry{Server: server, Username: e.Username, Password: e.Password, Email: e.Email}
	if e.Auth == "" {
		return r, nil
	}
	// As the kubelet reads it (k8s.io/kubernetes pkg/credentialprovider,
	// DockerConfigEntry.UnmarshalJSON): "auth" wins over username and
	// password, and one it cannot split fails the whole Secret.
	b, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return Registry{}, errors.New(`its "auth" is not base64`)
	}
	user, pass, ok := strings.Cut(string(b), ":")
	if !ok {
		return Registry{}, errors.New(`its "auth" is not base64 of username:password`)
	}
	r.Username, r.Password = user, pass
	return r, nil
}

// Unusable says why the kubelet cannot use a stored entry, or "" when it can.
// The kubelet reads only username, password and auth from a pull secret, so
// identity tokens are useless to it, as are docker's Docker Hub access- and
// refresh-token entries (OAuth tokens for docker's own use).
func Unusable(server, username string) string {
	if username == "<token>" {
		return "an identity token (the kubelet reads only username and password)"
	}
	canon := address.Canonical(server)
	if strings.HasPrefix(canon, "docker.io/") && (strings.HasSuffix(canon, "/access-token") || strings.HasSuffix(canon, "/refresh-token")) {
		return "docker's Docker Hub token entry (for docker's own use)"
	}
	return ""
}
