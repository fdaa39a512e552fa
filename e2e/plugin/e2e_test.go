package plugin_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/regcred/regcred/testenv"
)

// TestDockerLoginToPull is the Kubernetes task "Pull an Image from a Private
// Registry" done with regcred: docker login stores the credential in the
// keyring, kubectl regcred export writes the Secret, and the Secret as read
// back from the API server is all crane needs to pull the private image.
func TestDockerLoginToPull(t *testing.T) {
	testenv.Require(t, "docker")
	k := newKenv(t)
	reg := testenv.StartRegistry(t, map[string]string{"alice": hard})
	image := reg.Host + "/janedoe/private:v1"

	// docker login, with regcred as docker's credential store.
	home := k.tempDir()
	k.vars["DOCKER_CONFIG"] = filepath.Join(home, "login")
	os.MkdirAll(k.vars["DOCKER_CONFIG"], 0o700)
	os.WriteFile(filepath.Join(k.vars["DOCKER_CONFIG"], "config.json"), []byte(`{"credsStore":"regcred"}`), 0o600)
	if r := k.exec("docker", hard+"\n", "login", reg.Host, "-u", "alice", "--password-stdin"); r.code != 0 {
		t.Fatalf("docker login: %s %s", r.stdout, r.stderr)
	}
	layer := filepath.Join(home, "layer.tar")
	testenv.WriteLayer(t, layer)
	if r := k.exec(filepath.Join(binDir, "crane"), "", "append", "--insecure", "-f", layer, "-t", image); r.code != 0 {
		t.Fatalf("crane push: %s", r.stderr)
	}

	ns := namespace(t)
	if r := k.plugin("export", reg.Host, "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}

	// A node's view: only the Secret, as config.json, no keyring helper.
	node := filepath.Join(home, "node")
	os.MkdirAll(node, 0o700)
	s := secret(t, "alpha", ns, "regcred")
	os.WriteFile(filepath.Join(node, "config.json"), s.Data[corev1.DockerConfigJsonKey], 0o600)
	k.vars["DOCKER_CONFIG"] = node
	if r := k.exec(filepath.Join(binDir, "crane"), "", "pull", "--insecure", image, filepath.Join(home, "pulled.tar")); r.code != 0 {
		t.Fatalf("crane pull with the exported Secret: %s", r.stderr)
	}
	// And without it the pull is refused.
	os.WriteFile(filepath.Join(node, "config.json"), []byte(`{}`), 0o600)
	if r := k.exec(filepath.Join(binDir, "crane"), "", "pull", "--insecure", image, filepath.Join(home, "refused.tar")); r.code == 0 || !strings.Contains(r.stderr, "UNAUTHORIZED") {
		t.Errorf("pull without the Secret: exit %d %s", r.code, r.stderr)
	}
}
