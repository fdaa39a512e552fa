package dockerconfig

import (
	"reflect"
	"testing"
)

// dockerConfigJSON is the .dockerconfigjson content export writes for regs.
func dockerConfigJSON(regs []Registry) ([]byte, error) {
	a, err := AuthsOf(regs)
	if err != nil {
		return nil, err
	}
	return a.JSON()
}

func TestDockerConfigJSON(t *testing.T) {
	tests := []struct {
		name string
		regs []Registry
		want string
	}{
		{"one", []Registry{{Server: "r.example", Username: "u", Password: "p"}},
			`{"auths":{"r.example":{"username":"u","password":"p","auth":"dTpw"}}}`},
		{"email", []Registry{{Server: "r.example", Username: "u", Password: "p", Email: "e@x"}},
			`{"auths":{"r.example":{"username":"u","password":"p","email":"e@x","auth":"dTpw"}}}`},
		{"colon and unicode", []Registry{{Server: "[::1]:5000", Username: "u", Password: "a:ü"}},
			`{"auths":{"[::1]:5000":{"username":"u","password":"a:ü","auth":"dTphOsO8"}}}`},
		{"sorted", []Registry{{Server: "b", Username: "u", Password: "p"}, {Server: "a", Username: "u", Password: "p"}},
			`{"auths":{"a":{"username":"u","password":"p","auth":"dTpw"},"b":{"username":"u","password":"p","auth":"dTpw"}}}`},
		// Docker Hub goes under the key the kubelet matches, whatever the keyring's spelling.
		{"hub as registry-1.docker.io", []Registry{{Server: "registry-1.docker.io", Username: "u", Password: "p"}},
			`{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p","auth":"dTpw"}}}`},
		{"hub as docker.io", []Registry{{Server: "docker.io", Username: "u", Password: "p"}},
			`{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p","auth":"dTpw"}}}`},
		{"hub as Index.Docker.IO", []Registry{{Server: "https://Index.Docker.IO/v2/", Username: "u", Password: "p"}},
			`{"auths":{"https://index.docker.io/v1/":{"username":"u","password":"p","auth":"dTpw"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dockerConfigJSON(tt.regs)
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tt.want)
			}
			back, err := Parse(got)
			if err != nil || len(back) != len(tt.regs) {
				t.Fatalf("parse back: %+v, %v", back, err)
			}
		})
	}
	if _, err := dockerConfigJSON([]Registry{{Server: "a"}, {Server: "a"}}); err == nil {
		t.Error("duplicate server accepted")
	}
}

func TestParse(t *testing.T) {
	got, err := Parse([]byte(`{"auths":{"r":{"auth":"dTphOmI="}}}`))
	if err != nil || !reflect.DeepEqual(got, []Registry{{Server: "r", Username: "u", Password: "a:b"}}) {
		t.Errorf("auth-only entry: %+v, %v", got, err)
	}
	// As the kubelet reads an entry: auth before username and password.
	got, err = Parse([]byte(`{"auths":{"r":{"username":"u","password":"new","auth":"dTpvbGQ="}}}`))
	if err != nil || !reflect.DeepEqual(got, []Registry{{Server: "r", Username: "u", Password: "old"}}) {
		t.Errorf("an entry whose auth disagrees: %+v, %v", got, err)
	}
	for _, bad := range []string{`{}`, `{"credsStore":"regcred"}`, `[]`, `{"auths":{"r":{"auth":"%%%"}}}`,
		`{"auths":{"r":{"username":"u","password":"p","auth":"bm9jb2xvbg=="}}}`} { // the kubelet rejects "nocolon"
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestUnusable(t *testing.T) {
	for _, tt := range []struct {
		server, user string
		unusable     bool
	}{
		{"r.example", "u", false},
		{"r.example", "<token>", true},
		{"https://index.docker.io/v1/", "u", false},
		{"https://index.docker.io/v1/access-token", "u", true},
		{"https://index.docker.io/v1/refresh-token", "u", true},
		{"r.example/access-token", "u", false},
	} {
		if got := Unusable(tt.server, tt.user) != ""; got != tt.unusable {
			t.Errorf("Unusable(%q, %q) = %v, want %v", tt.server, tt.user, got, tt.unusable)
		}
	}
}

// TestSecretKey: every spelling of one registry gets the one key the
// kubelet matches (TestKeysTheKubeletMatches, in plugin, checks these
// against the kubelet's own lookup).
func TestSecretKey(t *testing.T) {
	tests := []struct{ server, want string }{
		{"reg.example.com", "reg.example.com"},
		{"Reg.Example.COM", "reg.example.com"},
		{"HTTPS://Reg.Example.com/", "reg.example.com"},
		{"http://reg.example.com:5000/v2/", "reg.example.com:5000"},
		{"reg.example.com:443", "reg.example.com:443"},
		{"[::1]:5000", "[::1]:5000"},
		{"ghcr.io/Org", "ghcr.io/org/"},
		{"https://ghcr.io/org/team/", "ghcr.io/org/team/"},
		{"reg.example.com/v2/org", "reg.example.com/org/"},
		{"docker.io", "https://index.docker.io/v1/"},
		{"https://index.docker.io/v1/", "https://index.docker.io/v1/"},
		{"Registry-1.Docker.io", "https://index.docker.io/v1/"},
		{"registry.docker.io/v2/", "https://index.docker.io/v1/"},
		{"index.docker.io/MyOrg", "docker.io/myorg/"},
		{"https://index.docker.io/v1/myorg", "docker.io/myorg/"},
		{"ghcr.io/org/", "ghcr.io/org/"},
	}
	for _, tt := range tests {
		got := SecretKey(tt.server)
		if got != tt.want {
			t.Errorf("SecretKey(%q) = %q, want %q", tt.server, got, tt.want)
		}
		if again := SecretKey(got); again != got {
			t.Errorf("SecretKey(%q) = %q, not itself", got, again)
		}
	}
}
