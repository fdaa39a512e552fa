package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.MainInNamespace(m)) }

// TestDemoRunsToTheEnd runs `make demo`'s program on freshly built
// binaries and checks the story's milestones appear in order.
func TestDemoRunsToTheEnd(t *testing.T) {
	testenv.Require(t, "dbus-daemon", "gnome-keyring-daemon", "docker-registry", "docker", "etcd", "kubectl")
	if _, err := testenv.K8sTools(); err != nil {
		testenv.Unavailable(t, err)
	}
	bin := t.TempDir()
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if _, err := testenv.Build(bin, b); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(&out, bin); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	last := 0
	for _, milestone := range []string{"The first run builds kube-apiserver", "Login Succeeded", `"credsStore": "regcred"`, "✓ keyring items in order",
		"type: kubernetes.io/dockerconfigjson", "secret/regcred created", "in sync", `[{"name":"regcred"}]`, "Done."} {
		i := strings.Index(text[last:], milestone)
		if i < 0 {
			t.Fatalf("demo output lacks %q after byte %d:\n%s", milestone, last, text)
		}
		last += i
	}
	if strings.Contains(text, "Skipping the live-cluster part") {
		t.Errorf("the demo skipped the cluster part:\n%s", text)
	}
	// The page's last step: the Pod Running on a real node, where one can run.
	if err := testenv.NodeUnavailable(); err != nil {
		if !strings.Contains(text, "Stopping here, after inspect") {
			t.Errorf("the demo does not say why it stops before the Pod:\n%s", text)
		}
		testenv.Unavailable(t, err)
	}
	for _, want := range []string{"pod/private-reg created", "private-reg   1/1     Running", "regcred podapp running"} {
		if !strings.Contains(text[last:], want) && !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
}

// TestBuildWaitReportsTheBackgroundBuild: the cluster half waits for the
// build main started before the namespace, and a failed build is an error
// that carries its log.
func TestBuildWaitReportsTheBackgroundBuild(t *testing.T) {
	if _, err := testenv.K8sTools(); err != nil {
		testenv.Unavailable(t, err)
	}
	log := filepath.Join(t.TempDir(), "build.log")
	os.WriteFile(log, []byte("k8s-tools: building…\ncompile error here\n"), 0o600)
	t.Setenv(buildEnv, log)
	os.WriteFile(log+".status", []byte("exit status 1"), 0o600)
	var out bytes.Buffer
	d := &demo{out: &out}
	if err := d.buildK8sTools(); err == nil || !strings.Contains(err.Error(), "compile error here") || !strings.Contains(out.String(), "first time only") {
		t.Errorf("failed build: err %v, output %q", err, out.String())
	}
	os.WriteFile(log+".status", []byte("0"), 0o600)
	out.Reset()
	if err := d.buildK8sTools(); err != nil || !strings.Contains(out.String(), "built (") {
		t.Errorf("finished build: err %v, output %q", err, out.String())
	}
}
