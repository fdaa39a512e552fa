package plugin_test

import (
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regcred/regcred/kube"
)

func TestInspectAndVerify(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("a.example", "alice", "apass")
	k.store("b.example", "bob", "bpass")
	if r := k.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}

	r := k.plugin("inspect", "-n", ns)
	if r.code != 0 {
		t.Fatalf("inspect: %s", r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "REGISTRY USERNAME PASSWORD EXPIRES KEYRING" ||
		strings.Join(strings.Fields(lines[1]), " ") != "a.example alice ******** - in sync" {
		t.Errorf("inspect table:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "apass") {
		t.Error("inspect showed a password without --show-secrets")
	}
	if r := k.plugin("inspect", "-n", ns, "--show-secrets"); !strings.Contains(r.stdout, "apass") {
		t.Errorf("--show-secrets did not reveal: %s", r.stdout)
	}
	if r := k.plugin("verify", "-n", ns); r.code != 0 || r.stdout != "" {
		t.Errorf("verify in sync: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	// Drift: a rotated password, a registry the Secret lacks, one the keyring lost.
	k.store("a.example", "alice", "rotated")
	k.store("c.example", "carol", "cpass")
	p := filepath.Join(binDir, "docker-credential-regcred")
	if r := k.exec(p, "b.example", "erase"); r.code != 0 {
		t.Fatal(r.stdout)
	}
	// Without arguments verify checks your entries — registry and username
	// in your keyring — as export and delete count them (issue 29, point 9:
	// a teammate's entry, or a registry never exported here, is no drift).
	r = k.plugin("verify", "-n", ns)
	if want := "a.example: password differs\n"; r.code != 1 || r.stdout != want {
		t.Errorf("verify after drift: exit %d stdout %q; want exit 1 and %q", r.code, r.stdout, want)
	}
	// Named, every registry counts.
	r = k.plugin("verify", "-n", ns, "a.example", "b.example", "c.example")
	want := "a.example: password differs\nb.example: not in keyring\nc.example: missing from Secret\n"
	if r.code != 1 || r.stdout != want {
		t.Errorf("verify of three registries after drift: exit %d stdout %q; want exit 1 and %q", r.code, r.stdout, want)
	}
	for _, secret := range []string{"rotated", "apass", "cpass", "bpass"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("verify printed a password %q", secret)
		}
	}
	if r := k.plugin("verify", "-n", ns, "https://A.example/"); r.code != 1 || r.stdout != "a.example: password differs\n" {
		t.Errorf("verify one registry: exit %d stdout %q", r.code, r.stdout)
	}
	if r := k.plugin("inspect", "-n", ns); !strings.Contains(r.stdout, "differs (password differs)") || !strings.Contains(r.stdout, "not in keyring") {
		t.Errorf("inspect after drift:\n%s", r.stdout)
	}
	// kubectl diff's convention: 2 when it could not check, never 1.
	for _, tt := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"no such Secret", []string{"-n", ns, "--name", "absent"},
			"error: secret " + ns + "/absent not found (create it with kubectl regcred export)\n"},
		{"no such flag", []string{"-n", ns, "--colour"}, "error: unknown flag: --colour\n"},
		{"two namespaces", []string{"-n", ns + ",other"}, "error: give one --context and one --namespace\n"},
	} {
		if r := k.plugin(append([]string{"verify"}, tt.args...)...); r.code != 2 || r.stderr != tt.stderr || r.stdout != "" {
			t.Errorf("verify, %s: exit %d stdout %q stderr %q; want exit 2 and %q", tt.name, r.code, r.stdout, r.stderr, tt.stderr)
		}
	}
	if r := k.plugin("verify", "-n", ns, "--server", "http://127.0.0.1:1"); r.code != 2 ||
		!strings.HasPrefix(r.stderr, "error: cannot reach the Kubernetes API server at http://127.0.0.1:1 ") {
		t.Errorf("verify, cluster unreachable: exit %d stderr %q; want exit 2 naming the server", r.code, r.stderr)
	}
	// Other commands keep kubectl's 1.
	if r := k.plugin("inspect", "-n", ns, "--name", "absent"); r.code != 1 {
		t.Errorf("inspect of a missing Secret: exit %d, want 1", r.code)
	}
}

// TestKubeletResolvesExportedSecret checks an exported Secret with the
// kubelet's own pull-secret code (credentialprovider/secrets).
func TestKubeletResolvesExportedSecret(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("127.0.0.1:5000", "alice", hard)
	k.store("https://index.docker.io/v1/", "hubuser", "hubpass")
	if r := k.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	images := []string{"127.0.0.1:5000/janedoe/private:v1", "nginx", "docker.io/x/y", "ghcr.io/x/y"}
	got := kubeletLookup(t, secret(t, "alpha", ns, "regcred"), images)
	for image, want := range map[string]string{
		"127.0.0.1:5000/janedoe/private:v1": "alice:" + hard,
		"nginx":                             "hubuser:hubpass",
		"docker.io/x/y":                     "hubuser:hubpass",
	} {
		if got[image] != want {
			t.Errorf("kubelet lookup of %s = %q, want %q", image, got[image], want)
		}
	}
	if _, found := got["ghcr.io/x/y"]; found {
		t.Error("the kubelet found credentials for a registry that was not exported")
	}
}

// TestVerifyOnASharedSecret (issue 29, point 9): alice's verify of a
// Secret that also holds bob's entry exits 0 when hers matches (it always
// exited 1); it reads an entry as the kubelet does — "auth" before
// username and password — so an entry whose fields say the new password
// but whose auth holds the old one is drift (it said in sync); and one
// whose auth the kubelet cannot decode, which makes the kubelet reject
// the whole Secret, is drift too (it could not check, exit 2).
func TestVerifyOnASharedSecret(t *testing.T) {
	alice, bob := newKenv(t), newKenv(t)
	ns := namespace(t)
	alice.store("ghcr.io", "alice", "new")
	alice.store("docker.io", "alice", "hub") // never exported here
	bob.store("quay.io", "bob", "b")
	if r := bob.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("bob's export: %s", r.stderr)
	}
	if r := alice.plugin("export", "ghcr.io", "-n", ns); r.code != 0 {
		t.Fatalf("alice's export: %s", r.stderr)
	}
	if r := alice.plugin("verify", "-n", ns); r.code != 0 || r.stdout != "" {
		t.Errorf("alice's verify of a shared Secret: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	c := admin(t, "alpha")
	for _, tt := range []struct{ name, entry, want string }{
		{"auth holds the old password", `{"username":"alice","password":"new","auth":"YWxpY2U6b2xk"}`, "ghcr.io: password differs\n"}, // alice:old
		{"auth the kubelet cannot decode", `{"username":"alice","password":"new","auth":"bm9jb2xvbg=="}`, // "nocolon"
			"secret " + ns + `/regcred: the kubelet rejects it: parse .dockerconfigjson: ghcr.io: its "auth" is not base64 of username:password` + "\n"},
	} {
		s := secret(t, "alpha", ns, "regcred")
		s.Data[corev1.DockerConfigJsonKey] = []byte(`{"auths":{"ghcr.io":` + tt.entry + `,"quay.io":{"username":"bob","password":"b","auth":"Ym9iOmI="}}}`)
		if _, err := c.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{FieldManager: kube.FieldManager}); err != nil {
			t.Fatal(err)
		}
		if r := alice.plugin("verify", "-n", ns); r.code != 1 || r.stdout != tt.want {
			t.Errorf("%s: verify exit %d stdout %q stderr %q; want exit 1 and %q", tt.name, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

// TestInspectShowsNoEscapeSequences (issue 29, design gap): whoever may
// write a Secret chooses its keys and usernames; inspect and verify show a
// control character in them quoted, never sent to the terminal (it
// printed them raw: an escape sequence retitled the window, or rewrote
// what was on the screen).
func TestInspectShowsNoEscapeSequences(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("ghcr.io", "alice", "a")
	data := `{"auths":{"evil\u001b[2J.example":{"username":"\u001b]0;pwned\u0007","password":"p","auth":"G10wO3B3bmVkBzpw"}}}`
	if _, err := admin(t, "alpha").CoreV1().Secrets(ns).Create(t.Context(), kube.Secret("regcred", ns, []byte(data)), metav1.CreateOptions{FieldManager: "helm"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"inspect", "-n", ns, "--show-secrets"}, {"verify", "-n", ns, "evil\x1b[2J.example"}} {
		r := k.plugin(args...)
		if strings.ContainsAny(r.stdout+r.stderr, "\x1b\x07") {
			t.Errorf("%s printed a control character: %q %q", args[0], r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, `\x1b`) {
			t.Errorf("%s does not show the key quoted: %q %q", args[0], r.stdout, r.stderr)
		}
	}
}
