//go:build linux

// Package node_test walks the Kubernetes task "Pull an Image from a Private
// Registry" to its last step on a real node: docker login through regcred,
// kubectl regcred export, and the page's Pod Running on a kubelet with
// containerd, pulling from a private registry with the exported Secret.
//
// Everything runs in a private network and mount namespace (see
// testenv.MainInNamespace): the registry, the keyring, the API server and
// the node share a loopback nothing else sees.
package node_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regcred/regcred/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(testenv.MainInNamespace(mainWithBinaries{m}))
}

// mainWithBinaries builds the binaries only inside the namespace, once.
type mainWithBinaries struct{ m *testing.M }

func (w mainWithBinaries) Run() int {
	return testenv.MainWithBinaries(w.m, &binDir, "docker-credential-regcred", "kubectl-regcred",
		"github.com/google/go-containerregistry/cmd/crane", "upstream:pass")
}

const (
	user     = "janedoe"
	password = "first:Pässword-1"
	nodeName = "regcred-node"
)

// world is the page's set-up: a user's keyring and docker config, a
// private registry holding the image, a cluster and its node. The user is a
// throw-away one, whose session bus and gnome-keyring, docker, crane,
// kubectl and regcred run as that user, as people run them; the node is
// root's.
type world struct {
	t          *testing.T
	user       *launch.KernelUser
	home       string // the user's HOME: the session's directory
	env        map[string]string
	registry   *launch.Registry
	kubeconfig string
	client     kubernetes.Interface
	node       *launch.Node
	image      string
	docker     string // DOCKER_CONFIG
}

func newWorld(t *testing.T) *world {
	t.Helper()
	if err := launch.NodeUnavailable(); err != nil {
		testenv.Unavailable(t, err)
	}
	testenv.Require(t, "docker", "kubectl")
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, launch.GnomeKeyring, launch.Unlocked, u)
	w := &world{t: t, user: u, home: s.Dir, env: s.EnvMap(), docker: filepath.Join(s.Dir, ".docker")}
	w.registry = testenv.StartRegistry(t, map[string]string{user: password})
	w.image = w.registry.Host + "/" + user + "/my-private-app:v1"
	if err := os.MkdirAll(w.docker, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.docker, "config.json"), []byte(`{"credsStore": "regcred"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	w.env["DOCKER_CONFIG"] = w.docker
	w.env["PATH"] = binDir + string(os.PathListSeparator) + w.env["PATH"]
	// The k8s tools' kubectl, where the user can run it.
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal(err)
	}
	testenv.UsersCopy(t, kubectl, binDir)

	dir := t.TempDir()
	c, err := launch.StartCluster(dir, "node-test", launch.ClusterOptions{ServiceAccountAdmission: true})
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(c.Stop)
	if w.kubeconfig, err = launch.Kubeconfig(dir, c); err != nil {
		t.Fatal(err)
	}
	// The user's kubectl reads the user's copy.
	mine, err := launch.Kubeconfig(w.dir(), c)
	if err != nil {
		t.Fatal(err)
	}
	w.env["KUBECONFIG"] = mine
	cfg, err := clientcmd.BuildConfigFromFlags("", w.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if w.client, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if w.node, err = launch.StartNode(filepath.Join(dir, "node"), nodeName, w.kubeconfig, c, w.registry.Host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.node.Stop)
	t.Logf("node %s registered in %v", nodeName, time.Since(start).Round(time.Millisecond))
	return w
}

// dir is a fresh directory in the user's HOME, for what the user's
// programs read and write.
func (w *world) dir() string {
	w.t.Helper()
	d, err := os.MkdirTemp(w.home, "t-")
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// run runs a program as the user would, failing the test on a non-zero exit.
func (w *world) run(stdin string, name string, args ...string) string {
	w.t.Helper()
	out, code := w.exec(stdin, name, args...)
	if code != 0 {
		w.t.Fatalf("%s %s: exit %d\n%s", name, strings.Join(args, " "), code, out)
	}
	return out
}

func (w *world) exec(stdin string, name string, args ...string) (string, int) {
	w.t.Helper()
	// exec.Command looks names up on this process's PATH: use the user's.
	if _, err := os.Stat(filepath.Join(binDir, name)); err == nil {
		name = filepath.Join(binDir, name)
	}
	if err := w.user.Own(w.home); err != nil {
		w.t.Fatal(err)
	}
	cmd := w.user.Command(w.env, launch.Login, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		w.t.Fatalf("%s: %v", name, err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// namespace creates a namespace with its default ServiceAccount (no
// controller-manager runs to make it). Its token is not mounted: no
// controller publishes the CA ConfigMap such a volume needs.
func (w *world) namespace(name string) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	no := false
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}, AutomountServiceAccountToken: &no}
	if _, err := w.client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// podManifest is the task page's my-private-reg-pod.yaml, pinned to the
// test node (no scheduler runs) on the host network (no CNI is installed).
func (w *world) podManifest(name, secret string) string {
	pullSecrets := ""
	if secret != "" {
		pullSecrets = "  imagePullSecrets:\n  - name: " + secret + "\n"
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  nodeName: %s
  hostNetwork: true
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 1
  containers:
  - name: private-reg-container
    image: %s
    imagePullPolicy: Always
    args: [%q]
%s`, name, nodeName, w.image, name, pullSecrets)
}

// apply runs `kubectl apply -f` on a manifest, as the page does.
func (w *world) apply(namespace, manifest string) {
	w.t.Helper()
	f := filepath.Join(w.dir(), "pod.yaml")
	if err := os.WriteFile(f, []byte(manifest), 0o600); err != nil {
		w.t.Fatal(err)
	}
	w.run("", "kubectl", "apply", "-n", namespace, "-f", f)
}

// waitPod waits until the Pod runs, or its container is stuck pulling; it
// returns the phase or the waiting reason and message.
func (w *world) waitPod(namespace, name string) (state, message string) {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		p, err := w.client.CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if wt := cs.State.Waiting; wt != nil && (wt.Reason == "ErrImagePull" || wt.Reason == "ImagePullBackOff") {
				return wt.Reason, wt.Message
			}
			if cs.State.Running != nil && p.Status.Phase == corev1.PodRunning {
				return string(corev1.PodRunning), ""
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	w.t.Fatalf("pod %s/%s neither ran nor failed to pull in 90s\nkubelet log:\n%s", namespace, name, w.node.Log())
	return "", ""
}

// expectRunning checks a Pod reaches Running and that the private image's
// program really ran in it.
func (w *world) expectRunning(namespace, name string) {
	w.t.Helper()
	start := time.Now()
	if state, msg := w.waitPod(namespace, name); state != string(corev1.PodRunning) {
		w.t.Fatalf("pod %s/%s: %s: %s", namespace, name, state, msg)
	}
	w.t.Logf("pod %s/%s Running after %v", namespace, name, time.Since(start).Round(time.Millisecond))
	if got := w.run("", "kubectl", "get", "pod", name, "-n", namespace, "-o", "jsonpath={.status.phase}"); got != "Running" {
		w.t.Errorf("kubectl get pod %s: %q", name, got)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if log := w.node.PodLog(namespace, name, "private-reg-container"); strings.Contains(log, "regcred podapp running: ["+name+"]") {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("pod %s/%s runs, but the private image's program printed nothing", namespace, name)
		}
	}
}

// TestPrivateRegistryTask is the task page, end to end, the regcred way.
func TestPrivateRegistryTask(t *testing.T) {
	w := newWorld(t)

	// The user logs in; the password goes to the keyring, not the file.
	w.run(password+"\n", "docker", "login", w.registry.Host, "-u", user, "--password-stdin")
	if b, _ := os.ReadFile(filepath.Join(w.docker, "config.json")); strings.Contains(string(b), "auth\"") {
		t.Fatalf("docker login left a credential in config.json: %s", b)
	}
	// The helper made its writers' lock in the HOME of whoever ran it
	// (as root, in root's: this HOME is not root's own).
	if fi, err := os.Stat(filepath.Join(w.home, ".cache", "regcred", "lock")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(w.user.UID) {
		t.Fatalf("docker login's helper did not run as the user: %v", err)
	}
	tarball := filepath.Join(w.dir(), "app.tar")
	if err := launch.WriteAppImage(tarball, w.image); err != nil {
		t.Fatal(err)
	}
	w.run("", "crane", "push", "--insecure", tarball, w.image) // through regcred, too

	t.Run("the page's Pod runs with the exported Secret", func(t *testing.T) {
		w.t = t
		w.namespace("demo")
		w.run("", "kubectl-regcred", "export", "-n", "demo")
		w.apply("demo", w.podManifest("private-reg", "regcred"))
		w.expectRunning("demo", "private-reg")
	})

	t.Run("the page's other method cannot pull once docker uses a credential store", func(t *testing.T) {
		w.t = t
		w.namespace("copied")
		// kubectl create secret generic regcred --from-file=.dockerconfigjson=<path/to/.docker/config.json>
		//   --type=kubernetes.io/dockerconfigjson
		w.run("", "kubectl", "create", "secret", "generic", "regcred", "-n", "copied",
			"--from-file=.dockerconfigjson="+filepath.Join(w.docker, "config.json"), "--type=kubernetes.io/dockerconfigjson")
		w.apply("copied", w.podManifest("private-reg", "regcred"))
		state, msg := w.waitPod("copied", "private-reg")
		if state != "ErrImagePull" && state != "ImagePullBackOff" {
			t.Fatalf("a Secret copied from config.json let the Pod run (%s): it holds no credential", state)
		}
		if !strings.Contains(strings.ToLower(msg), "unauthorized") && !strings.Contains(msg, "401") {
			t.Errorf("pull failed, but not for want of credentials: %s", msg)
		}
		t.Logf("as expected: %s: %s", state, msg)
	})

	t.Run("a Pod without imagePullSecrets runs through its ServiceAccount", func(t *testing.T) {
		w.t = t
		w.namespace("by-sa")
		w.run("", "kubectl-regcred", "export", "-n", "by-sa", "--service-account", "default")
		w.apply("by-sa", w.podManifest("no-pull-secrets", ""))
		w.expectRunning("by-sa", "no-pull-secrets")
	})

	t.Run("after a password change a re-export pulls with the new one", func(t *testing.T) {
		w.t = t
		const changed = "second:Pässword-2"
		if err := w.registry.SetUsers(map[string]string{user: changed}); err != nil {
			t.Fatal(err)
		}
		w.apply("demo", w.podManifest("stale-secret", "regcred"))
		state, msg := w.waitPod("demo", "stale-secret")
		if state == string(corev1.PodRunning) {
			t.Fatal("the old password still pulls: the registry did not change it")
		}
		if (state != "ErrImagePull" && state != "ImagePullBackOff") || !strings.Contains(strings.ToLower(msg), "unauthorized") && !strings.Contains(msg, "401") {
			t.Errorf("the stale Secret's Pod is %s (%s), want an image pull refused with 401", state, msg)
		}
		w.run(changed+"\n", "docker", "login", w.registry.Host, "-u", user, "--password-stdin")
		w.run("", "kubectl-regcred", "export", "-n", "demo")
		w.apply("demo", w.podManifest("fresh-secret", "regcred"))
		w.expectRunning("demo", "fresh-secret")
	})

	// Issue 30: a machine whose docker keeps credentials with the pass
	// helper and has never heard of regcred.
	t.Run("docker on the pass helper: export alone makes a Secret that pulls", func(t *testing.T) {
		w.t = t
		const third = "third:Pässword-3"
		if err := w.registry.SetUsers(map[string]string{user: third}); err != nil {
			t.Fatal(err)
		}
		// regcred forgets the earlier logins: only pass holds one now.
		w.run(w.registry.Host, "docker-credential-regcred", "erase")
		home := w.dir()
		w.docker = filepath.Join(home, ".docker")
		if err := os.MkdirAll(w.docker, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(w.docker, "config.json"), []byte(`{"credsStore": "pass"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		w.env["DOCKER_CONFIG"] = w.docker
		// gpg-agent's socket path must stay short: not under TempDir's long name.
		gnupg, err := os.MkdirTemp("", "gpg")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(gnupg) })
		if err := w.user.Own(gnupg); err != nil {
			t.Fatal(err)
		}
		w.env["GNUPGHOME"] = gnupg
		w.env["PASSWORD_STORE_DIR"] = filepath.Join(home, "pass")
		t.Cleanup(func() { w.exec("", "gpgconf", "--homedir", gnupg, "--kill", "all") })
		w.run("", "gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "node@regcred.test", "default", "default", "never")
		w.run("", "pass", "init", "node@regcred.test")
		w.run(third+"\n", "docker", "login", w.registry.Host, "-u", user, "--password-stdin")
		if out := w.run("", "docker-credential-regcred", "list"); strings.Contains(out, w.registry.Host) {
			t.Fatalf("regcred's keyring holds the login: %s", out)
		}
		w.namespace("from-pass")
		w.run("", "kubectl-regcred", "export", "-n", "from-pass")
		w.apply("from-pass", w.podManifest("private-reg", "regcred"))
		w.expectRunning("from-pass", "private-reg")
	})
}
