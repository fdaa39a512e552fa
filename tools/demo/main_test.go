package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.MainInNamespace(m)) }

// TestDemoRunsToTheEnd runs `make demo`'s program on freshly built
// binaries and checks the story's milestones appear in order.
func TestDemoRunsToTheEnd(t *testing.T) {
	testenv.Require(t, "dbus-daemon", "gnome-keyring-daemon", "docker-registry", "docker", "etcd", "kubectl")
	if _, err := launch.K8sTools(); err != nil {
		testenv.Unavailable(t, err)
	}
	bin := t.TempDir()
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if _, err := launch.Build(bin, b); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(&out, bin); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	milestones := []string{"The first run builds kube-apiserver", "Login Succeeded", `"credsStore": "regcred"`, "✓ keyring items in order",
		"type: kubernetes.io/dockerconfigjson", "secret/regcred created", "in sync", `[{"name":"regcred"}]`}
	// The page's last step: the Pod Running on a real node, where one can run.
	nodeErr := launch.NodeUnavailable()
	if nodeErr == nil {
		milestones = append(milestones, "pod/private-reg created", "private-reg   1/1     Running", "regcred podapp running")
	} else {
		milestones = append(milestones, "Stopping here, after inspect")
	}
	last := 0
	for _, milestone := range append(milestones, "Done.") {
		i := strings.Index(text[last:], milestone)
		if i < 0 {
			t.Fatalf("demo output lacks %q after byte %d (the story's order):\n%s", milestone, last, text)
		}
		last += i
	}
	if strings.Contains(text, "Skipping the live-cluster part") {
		t.Errorf("the demo skipped the cluster part:\n%s", text)
	}
	if nodeErr != nil {
		testenv.Unavailable(t, nodeErr)
	}
}

// TestBuildWaitReportsTheBackgroundBuild: the cluster half waits for the
// build main started before the namespace, and a failed build is an error
// that carries its log.
func TestBuildWaitReportsTheBackgroundBuild(t *testing.T) {
	if _, err := launch.K8sTools(); err != nil {
		testenv.Unavailable(t, err)
	}
	log := filepath.Join(t.TempDir(), "build.log")
	os.WriteFile(log, []byte("k8s-tools: building…\ncompile error here\n"), 0o600)
	t.Setenv(buildEnv, log)
	os.WriteFile(log+".status", []byte("exit status 1"), 0o600)
	var out bytes.Buffer
	d := &demo{out: &out}
	if _, err := d.buildK8sTools(); err == nil || !strings.Contains(err.Error(), "compile error here") || !strings.Contains(out.String(), "first time only") {
		t.Errorf("failed build: err %v, output %q", err, out.String())
	}
	// A build still running: it waits until the status appears.
	os.Remove(log + ".status")
	out.Reset()
	done := time.AfterFunc(1500*time.Millisecond, func() { os.WriteFile(log+".status", []byte("0"), 0o600) })
	defer done.Stop()
	start := time.Now()
	tools, err := d.buildK8sTools()
	if _, statErr := os.Stat(filepath.Join(tools, "bin", "kubectl")); statErr != nil {
		t.Errorf("the built tools hold no bin/kubectl: %v", statErr)
	}
	if took := time.Since(start); err != nil || took < 1500*time.Millisecond || !strings.Contains(out.String(), "built (2s spent waiting here)") && !strings.Contains(out.String(), "built (3s spent waiting here)") {
		t.Errorf("a build that finishes while waited for: err %v after %v, output %q", err, took, out.String())
	}
}
