package plugin_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regcred/regcred/testenv"
)

// TestAPIServerStoppedMidExport stops a real API server after two of four
// namespaces were written: the summary says which targets succeeded, and
// running export again, once the server is back, completes the rest.
func TestAPIServerStoppedMidExport(t *testing.T) {
	k := newKenv(t)
	dir := t.TempDir()
	gamma, err := launch.StartCluster(dir, "gamma")
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(gamma.Stop)
	mine := k.tempDir() // the kubeconfig and the pause file: the user's
	kc, err := launch.Kubeconfig(mine, gamma)
	if err != nil {
		t.Fatal(err)
	}
	k.vars["KUBECONFIG"] = kc
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: kc}, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	c := kubernetes.NewForConfigOrDie(cfg)
	namespaces := []string{"outage-1", "outage-2", "outage-3", "outage-4"}
	for _, ns := range namespaces {
		if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	k.store("reg.example", "alice", "pw")

	pause := filepath.Join(mine, "paused")
	// One namespace at a time, so that "after two" is a point in time.
	done := k.paused(pause, map[string]string{"REGCRED_FAULT_PAUSE_AFTER": "2", "REGCRED_FAULT_PAUSE_FILE": pause},
		"export", "--parallel", "1", "-n", strings.Join(namespaces, ","))
	gamma.StopAPIServer()
	os.Remove(pause)
	r := <-done
	if r.code == 0 || !strings.Contains(r.stderr, "exported 1 registry to 2 of 4 targets") ||
		!strings.Contains(r.stderr, "namespace outage-3") || !strings.Contains(r.stderr, "namespace outage-4") ||
		strings.Count(r.stdout, "secret/regcred created") != 2 {
		t.Fatalf("export through an outage: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}

	if err := gamma.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	r = k.plugin("export", "-n", strings.Join(namespaces, ","))
	if r.code != 0 || strings.Count(r.stdout, "unchanged") != 2 || strings.Count(r.stdout, "created") != 2 {
		t.Errorf("re-run after the outage: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, ns := range namespaces {
		if _, err := c.CoreV1().Secrets(ns).Get(context.Background(), "regcred", metav1.GetOptions{}); err != nil {
			t.Errorf("after the re-run %s has no Secret: %v", ns, err)
		}
	}
}
