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
	if r := k.plugin("verify", "-n", ns, "--name", "absent"); r.code == 0 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("verify of a missing Secret: exit %d stderr %q", r.code, r.stderr)
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
