package dockerconfig

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDockerConfigJSON: the builder never panics, and what it builds
// decodes the way the kubelet decodes it (k8s.io/kubernetes
// pkg/credentialprovider: a map "auths" of registry key to entry, whose
// "auth", base64 of user:password split at the first colon, sets the
// username and password) into exactly one entry, under the key SecretKey
// gives, holding the same credential. It decodes with encoding/json and
// base64 alone, not with this package's own parser.
func FuzzDockerConfigJSON(f *testing.F) {
	f.Add("r.example", "alice", "pa:ss", "")
	f.Add("[::1]:5000", "<token>", "", "e@x")
	f.Add("https://index.docker.io/v1/", "ü", "€:€", "")
	f.Add("doCker.io", "u", "p", "")
	f.Fuzz(func(t *testing.T, server, user, pass, email string) {
		valid := utf8.ValidString(server) && utf8.ValidString(user) && utf8.ValidString(pass) && utf8.ValidString(email)
		if server == "" || !valid || strings.Contains(user, ":") {
			return // JSON cannot carry invalid UTF-8 unchanged; a colon in a username cannot survive "auth"
		}
		data, err := dockerConfigJSON([]Registry{{Server: server, Username: user, Password: pass, Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Auths map[string]struct {
				Username, Password, Email, Auth string
			} `json:"auths"`
		}
		if err := json.Unmarshal(data, &cfg); err != nil {
			t.Fatalf("%s does not decode: %v", data, err)
		}
		e, ok := cfg.Auths[SecretKey(server)]
		if len(cfg.Auths) != 1 || !ok {
			t.Fatalf("keys %v, want exactly %q", cfg.Auths, SecretKey(server))
		}
		dec, err := base64.StdEncoding.DecodeString(e.Auth)
		if err != nil {
			t.Fatalf("auth %q is not base64: %v", e.Auth, err)
		}
		u, p, found := strings.Cut(string(dec), ":")
		if !found || u != user || p != pass || e.Email != email {
			t.Errorf("the kubelet would read %q/%q (%q) from %s; want %q/%q (%q)", u, p, e.Email, data, user, pass, email)
		}
		if e.Username != "" && e.Username != user || e.Password != "" && e.Password != pass {
			t.Errorf("username/password fields %q/%q disagree with auth", e.Username, e.Password)
		}
	})
}
