// Command demo walks through the Kubernetes task "Pull an Image from a
// Private Registry" the regcred way, on a machine with no desktop, in a
// sandbox it creates and removes: a private D-Bus session with
// gnome-keyring, a private registry on loopback, docker login through the
// keyring, and kubectl regcred — against a local kube-apiserver when one
// can be started, ending as the page does with the Pod Running on a real
// kubelet and containerd where it can run a node (as root, in a network and
// mount namespace of its own). Run it with `make demo`.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/regcred/regcred/testenv/launch"
)

func main() {
	bin := ""
	if len(os.Args) > 1 {
		bin = os.Args[1] // where the binaries are; default <repo>/bin
	}
	cleanup := startK8sToolsBuild()
	code := launch.InNamespace(func() int {
		if err := run(os.Stdout, bin); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			return 1
		}
		return 0
	})
	cleanup()
	os.Exit(code)
}

// buildEnv names the log of the background k8s-tools build; the build's
// exit status is written beside it, as LOG.status, when it ends.
const buildEnv = "REGCRED_DEMO_BUILD_LOG"

// startK8sToolsBuild starts building the cluster half's tools in the
// background, here, before the demo enters its network namespace (where
// the module proxy cannot be reached), so that the keyring half runs
// meanwhile. It returns what removes the build's log.
func startK8sToolsBuild() func() {
	if os.Getenv(buildEnv) != "" || launch.K8sToolsCached() {
		return func() {}
	}
	root, err := launch.RepoRoot()
	if err != nil {
		return func() {}
	}
	logf, err := os.CreateTemp("", "regcred-demo-build-*.log")
	if err != nil {
		return func() {}
	}
	cmd := exec.Command("sh", filepath.Join(root, "scripts", "k8s-tools.sh"))
	cmd.Stdout, cmd.Stderr = logf, logf
	status := logf.Name() + ".status"
	if err := cmd.Start(); err != nil {
		os.WriteFile(status, []byte(err.Error()), 0o600)
	} else {
		go func() {
			result := "0"
			if err := cmd.Wait(); err != nil {
				result = err.Error()
			}
			os.WriteFile(status, []byte(result), 0o600)
		}()
	}
	os.Setenv(buildEnv, logf.Name())
	return func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		logf.Close()
		os.Remove(logf.Name())
		os.Remove(status)
	}
}

// demo is the sandbox and the environment its commands run in.
type demo struct {
	out io.Writer
	env []string
}

func run(out io.Writer, bin string) error {
	if bin == "" {
		root, err := launch.RepoRoot()
		if err != nil {
			return err
		}
		bin = filepath.Join(root, "bin")
	}
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return fmt.Errorf("%s/%s is missing: run make build first", bin, b)
		}
	}
	sandbox, err := os.MkdirTemp("", "regcred-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(sandbox)
	d := &demo{out: out}
	d.say("Two halves: the keyring half (seconds) now, then the cluster half. The first run builds kube-apiserver\n" +
		"# and the kubelet for it: about 5 to 15 minutes on 2 cores and about 8 GB of caches (Go's build and module\n" +
		"# caches and regcred's tools); later runs start in seconds.")
	d.say("Sandbox %s: its own HOME, D-Bus session and keyring; removed at the end.", sandbox)

	session, err := launch.StartSession(filepath.Join(sandbox, "home"), launch.Unlocked)
	if err != nil {
		return err
	}
	defer session.Stop()
	d.env = setEnv(session.Env(), "PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	d.env = setEnv(d.env, "DOCKER_CONFIG", filepath.Join(sandbox, "home", ".docker"))
	d.say("Started a private D-Bus session bus and gnome-keyring-daemon (unlocked): the OS keyring.")

	password := "demo-" + randomHex(6)
	regDir := filepath.Join(sandbox, "registry")
	os.MkdirAll(regDir, 0o700)
	reg, err := launch.NewRegistry(regDir, map[string]string{"janedoe": password})
	if err != nil {
		return err
	}
	defer reg.Stop()
	d.say("Started a private registry at %s (user janedoe, htpasswd auth).", reg.Host)

	steps := []struct {
		say   string
		stdin string
		cmd   []string
	}{
		{"Point docker at the keyring:", "", []string{"docker-credential-regcred", "configure"}},
		{"Log in; the password goes to the keyring, never to config.json:", password + "\n", []string{"docker", "login", reg.Host, "-u", "janedoe", "--password-stdin"}},
		{"config.json now holds no secret:", "", []string{"cat", filepath.Join(sandbox, "home", ".docker", "config.json")}},
		{"What the keyring holds (never secrets):", "", []string{"docker-credential-regcred", "ls"}},
		{"Check the set-up:", "", []string{"docker-credential-regcred", "doctor"}},
		{"The Secret the task page wants, straight from the keyring (nothing sent anywhere):", "", []string{"kubectl-regcred", "export", "--dry-run=client", "-o", "yaml", "-n", "demo", "--kubeconfig", filepath.Join(sandbox, "none")}},
	}
	for _, s := range steps {
		if err := d.step(s.say, s.stdin, s.cmd...); err != nil {
			return err
		}
	}

	if err := d.cluster(sandbox, reg, password); err != nil {
		d.say("Skipping the live-cluster part: %v", err)
	}
	d.say("Done. Removing the sandbox.")
	return nil
}

// cluster exports to a real local kube-apiserver, inspects the result and,
// where a node can run, runs the page's Pod.
func (d *demo) cluster(sandbox string, reg *launch.Registry, password string) error {
	if _, err := exec.LookPath("etcd"); err != nil {
		return fmt.Errorf("etcd is not installed (make deps)")
	}
	tools, err := d.buildK8sTools()
	if err != nil {
		return err
	}
	// The kubectl of the cluster's release, built with it, first on PATH:
	// the demo needs no kubectl installed.
	d.env = setEnv(d.env, "PATH", filepath.Join(tools, "bin")+string(os.PathListSeparator)+envValue(d.env, "PATH"))
	dir := filepath.Join(sandbox, "cluster")
	os.MkdirAll(dir, 0o700)
	d.say("Starting etcd and a kube-apiserver on loopback…")
	c, err := launch.StartCluster(dir, "demo", launch.ClusterOptions{ServiceAccountAdmission: true})
	if err != nil {
		return err
	}
	defer c.Stop()
	kubeconfig, err := launch.Kubeconfig(dir, c)
	if err != nil {
		return err
	}
	d.env = setEnv(d.env, "KUBECONFIG", kubeconfig)
	for _, s := range []struct {
		say string
		cmd []string
	}{
		{"A namespace and its default ServiceAccount (no controller-manager runs here):", []string{"kubectl", "create", "namespace", "demo"}},
		{"", []string{"kubectl", "create", "serviceaccount", "default", "-n", "demo"}},
		{"Export the keyring's credentials as the pull Secret, and attach it to the ServiceAccount:", []string{"kubectl-regcred", "export", "-n", "demo", "--service-account", "default"}},
		{"What the Secret holds, compared with the keyring:", []string{"kubectl-regcred", "inspect", "-n", "demo"}},
		{"Verify for CI (exit 0 = in sync):", []string{"kubectl-regcred", "verify", "-n", "demo"}},
		{"Pods in this namespace now pull with it:", []string{"kubectl", "get", "serviceaccount", "default", "-n", "demo", "-o", "jsonpath={.imagePullSecrets}"}},
	} {
		if err := d.step(s.say, "", s.cmd...); err != nil {
			return err
		}
	}
	if err := launch.NodeUnavailable(); err != nil {
		d.say("Stopping here, after inspect: running the page's Pod needs a node, and this machine cannot run one: %v.", err)
		d.say("As root with containerd installed (`make deps`), `make demo` goes on to run the Pod on a real kubelet.")
		return nil
	}
	return d.node(sandbox, c, kubeconfig, reg)
}

// buildK8sTools builds (or finds cached) kube-apiserver, the kubelet and
// kubectl, saying what it builds and, while it does, how long it has taken.
// It returns their directory.
func (d *demo) buildK8sTools() (string, error) {
	log := os.Getenv(buildEnv)
	if log == "" {
		return launch.K8sTools() // cached
	}
	d.say("The cluster half: building kube-apiserver, the kubelet and its pull-secret resolver from k8s.io/kubernetes\n" +
		"# (started in the background with the demo; first time only: about 5 to 15 minutes on 2 cores, 2-3 GB of\n" +
		"# memory; cached in ~/.cache/regcred)…")
	start := time.Now()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(log + ".status"); err == nil {
			if s := string(b); s != "0" {
				out, _ := os.ReadFile(log)
				return "", fmt.Errorf("building kube-apiserver and the kubelet: %s\n%s", s, out)
			}
			break
		}
		select {
		case <-tick.C:
			fmt.Fprintf(d.out, "  … still building kube-apiserver and the kubelet: %s so far\n", time.Since(start).Round(time.Second))
		case <-time.After(time.Second):
		}
	}
	fmt.Fprintf(d.out, "  built (%s spent waiting here)\n", time.Since(start).Round(time.Second))
	return launch.K8sTools()
}

// node runs the page's last step: the Pod, on a real kubelet and containerd,
// pulling the private image with the exported Secret.
func (d *demo) node(sandbox string, c *launch.Cluster, kubeconfig string, reg *launch.Registry) error {
	d.say("Starting a node: containerd and a kubelet, registered with the API server…")
	n, err := launch.StartNode(filepath.Join(sandbox, "node"), "demo-node", kubeconfig, c, reg.Host)
	if err != nil {
		return err
	}
	defer n.Stop()
	image := reg.Host + "/janedoe/my-private-app:v1"
	tarball := filepath.Join(sandbox, "app.tar")
	if err := launch.WriteAppImage(tarball, image); err != nil {
		return err
	}
	bin := filepath.Join(sandbox, "tools")
	if err := launch.BuildTool(bin, "github.com/google/go-containerregistry/cmd/crane"); err != nil {
		return err
	}
	d.env = setEnv(d.env, "PATH", bin+string(os.PathListSeparator)+envValue(d.env, "PATH"))
	manifest := filepath.Join(sandbox, "my-private-reg-pod.yaml")
	if err := os.WriteFile(manifest, fmt.Appendf(nil, podManifest, image), 0o600); err != nil {
		return err
	}
	for _, s := range []struct {
		say string
		cmd []string
	}{
		{"Push the private image (crane, through the keyring too):", []string{"crane", "push", "--insecure", tarball, image}},
		{"The page's Pod, my-private-reg-pod.yaml (pinned to the node, on its host network: no scheduler or CNI here):", []string{"cat", manifest}},
		{"", []string{"kubectl", "apply", "-f", manifest, "-n", "demo"}},
		{"Wait for it, as the page does with kubectl get pod private-reg:", []string{"kubectl", "wait", "--for=jsonpath={.status.phase}=Running", "pod/private-reg", "-n", "demo", "--timeout=90s"}},
		{"", []string{"kubectl", "get", "pod", "private-reg", "-n", "demo"}},
	} {
		if err := d.step(s.say, "", s.cmd...); err != nil {
			return fmt.Errorf("%w\nkubelet log tail:\n%s", err, n.Log())
		}
	}
	d.say("The container runs the private image; what it printed:")
	fmt.Fprint(d.out, n.PodLog("demo", "private-reg", "private-reg-container"))
	return nil
}

// podManifest is the task page's my-private-reg-pod.yaml for the demo.
const podManifest = `apiVersion: v1
kind: Pod
metadata:
  name: private-reg
spec:
  nodeName: demo-node
  hostNetwork: true
  automountServiceAccountToken: false
  containers:
  - name: private-reg-container
    image: %s
  imagePullSecrets:
  - name: regcred
`

// envValue returns key's value in env.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// step prints what it runs and its output, as a terminal session would.
func (d *demo) step(say, stdin string, args ...string) error {
	if say != "" {
		d.say(say)
	}
	fmt.Fprintf(d.out, "$ %s\n", strings.Join(args, " "))
	path, err := lookPath(args[0], d.env)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args[1:]...)
	cmd.Env = d.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	text := out.String()
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	fmt.Fprint(d.out, text)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "\n# "+format+"\n", args...)
}

// setEnv returns env with key set to value, replacing any earlier value.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

// lookPath finds a program on the PATH of env (exec.Command would search
// this process's PATH instead).
func lookPath(name string, env []string) (string, error) {
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			for _, dir := range filepath.SplitList(p) {
				if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && !fi.IsDir() {
					return filepath.Join(dir, name), nil
				}
			}
		}
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
