package plugin_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/internal/testenv"
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
	r = k.plugin("verify", "-n", ns)
	want := "a.example: password differs\nb.example: not in keyring\nc.example: missing from Secret\n"
	if r.code != 1 || r.stdout != want {
		t.Errorf("verify after drift: exit %d stdout %q; want exit 1 and %q", r.code, r.stdout, want)
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
	s := secret(t, "alpha", ns, "regcred")
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	tools, err := testenv.K8sTools()
	if err != nil {
		testenv.Unavailable(t, err)
	}
	cmd := exec.Command(filepath.Join(tools, "kubelet-keyring"), "127.0.0.1:5000/janedoe/private:v1", "nginx", "docker.io/x/y", "ghcr.io/x/y")
	cmd.Stdin = strings.NewReader(string(data))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubelet-keyring: %v", err)
	}
	var got map[string]struct {
		Found              bool
		Username, Password string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string][2]string{
		"127.0.0.1:5000/janedoe/private:v1": {"alice", hard},
		"nginx":                             {"hubuser", "hubpass"},
		"docker.io/x/y":                     {"hubuser", "hubpass"},
	} {
		g := got[image]
		if !g.Found || g.Username != want[0] || g.Password != want[1] {
			t.Errorf("kubelet lookup of %s = %+v, want %s", image, g, want[0])
		}
	}
	if got["ghcr.io/x/y"].Found {
		t.Error("the kubelet found credentials for a registry that was not exported")
	}
}
