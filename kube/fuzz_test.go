package kube

import (
	"testing"
	"unicode/utf8"
)

// FuzzDockerConfigJSON: the builder never panics, and what it builds parses
// back to the same credentials (as the kubelet reads them), under the key
// SecretKey gives (every spelling of Docker Hub becomes docker's own).
func FuzzDockerConfigJSON(f *testing.F) {
	f.Add("r.example", "alice", "pa:ss", "")
	f.Add("[::1]:5000", "<token>", "", "e@x")
	f.Add("https://index.docker.io/v1/", "ü", "€:€", "")
	f.Fuzz(func(t *testing.T, server, user, pass, email string) {
		valid := utf8.ValidString(server) && utf8.ValidString(user) && utf8.ValidString(pass) && utf8.ValidString(email)
		if server == "" || !valid {
			return // JSON cannot carry invalid UTF-8 unchanged; addresses are validated earlier
		}
		data, err := DockerConfigJSON([]Registry{{Server: server, Username: user, Password: pass, Email: email}})
		if err != nil {
			t.Fatal(err)
		}
		regs, err := ParseDockerConfigJSON(data)
		if err != nil {
			t.Fatalf("parse back %s: %v", data, err)
		}
		want := Registry{Server: SecretKey(server), Username: user, Password: pass, Email: email}
		if user == "" && pass == "" {
			return // nothing but auth "Og==" is written; the kubelet reads it as empty
		}
		if len(regs) != 1 || regs[0] != want {
			t.Errorf("round trip of %+v gave %+v", want, regs)
		}
	})
}
