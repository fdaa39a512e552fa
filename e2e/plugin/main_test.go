package plugin_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regcred/regcred/testenv"
)

// Shared by the package's tests: the built binaries and two real clusters.
var (
	binDir      string
	upstreamDir string // the upstream helpers: docker-credential-pass, -secretservice
	clusterA    *launch.Cluster
	clusterB    *launch.Cluster
	kubeconfig  string
	clusterErr  error
)

func TestMain(m *testing.M) {
	os.Exit(testenv.MainE2E(mainWithClusters{m}))
}

// mainWithClusters builds the binaries and starts the clusters only when
// the suite runs.
type mainWithClusters struct{ m *testing.M }

func (w mainWithClusters) Run() int { return runMain(w.m) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "regcred-plugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The kenvs' throw-away users run the binaries: they may pass through
	// (the clusters' directories stay closed).
	if err := os.Chmod(dir, 0o711); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir = filepath.Join(dir, "bin")
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if _, err := launch.Build(binDir, b); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	if err := launch.BuildTool(binDir, "github.com/google/go-containerregistry/cmd/crane"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The upstream helpers, as other credential stores docker may name.
	for _, h := range []string{"pass", "secretservice"} {
		if _, err := launch.BuildUpstream(filepath.Join(dir, "upstream"), h); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	upstreamDir = filepath.Join(dir, "upstream")
	clusterErr = startClusters(dir)
	defer func() {
		for _, c := range []*launch.Cluster{clusterA, clusterB} {
			if c != nil {
				c.Stop()
			}
		}
	}()
	return m.Run()
}

func startClusters(dir string) error {
	var err error
	for _, c := range []struct {
		name string
		dst  **launch.Cluster
	}{{"alpha", &clusterA}, {"beta", &clusterB}} {
		d := filepath.Join(dir, c.name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if *c.dst, err = launch.StartCluster(d, c.name); err != nil {
			return err
		}
	}
	kubeconfig, err = launch.Kubeconfig(dir, clusterA, clusterB)
	return err
}

// kenv is one user: a keyring, the helper to fill it, the plugin, and
// namespaces of their own on the shared clusters. Its session — the bus,
// gnome-keyring and every program the kenv runs — is a throw-away user's,
// as people run them; what the test writes into the session's HOME (see
// tempDir) is given to that user before each program runs.
type kenv struct {
	t          *testing.T
	session    *launch.Session
	user       *launch.KernelUser // nil: the test's own user, no keyring
	vars       map[string]string
	kubeconfig string // the shared clusters' kubeconfig, the user's copy
}

func newKenv(t *testing.T) *kenv {
	t.Helper()
	if clusterErr != nil {
		testenv.Unavailable(t, clusterErr)
	}
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, launch.GnomeKeyring, launch.Unlocked, u)
	k := &kenv{t: t, session: s, user: u, vars: s.EnvMap(), kubeconfig: filepath.Join(s.Dir, "kubeconfig")}
	b, err := os.ReadFile(kubeconfig)
	if err == nil {
		err = os.WriteFile(k.kubeconfig, b, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	k.vars["KUBECONFIG"] = k.kubeconfig
	// docker's config names regcred, as install.sh leaves it: export
	// takes credentials from where docker does.
	k.vars["DOCKER_CONFIG"] = filepath.Join(s.Dir, ".docker")
	if err := os.MkdirAll(k.vars["DOCKER_CONFIG"], 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k.vars["DOCKER_CONFIG"], "config.json"), []byte(`{"credsStore":"regcred"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	k.vars["PATH"] = binDir + string(os.PathListSeparator) + k.vars["PATH"]
	return k
}

// tempDir is a fresh directory in the kenv's HOME, for what its programs
// read and write.
func (k *kenv) tempDir() string {
	k.t.Helper()
	d, err := os.MkdirTemp(k.session.Dir, "t-")
	if err != nil {
		k.t.Fatal(err)
	}
	return d
}

// as is bin as the kenv's user runs it, once what the test wrote into the
// session's HOME is the user's.
func (k *kenv) as(bin string) string {
	k.t.Helper()
	if k.user == nil {
		return bin
	}
	if err := k.user.Own(k.session.Dir); err != nil {
		k.t.Fatal(err)
	}
	return testenv.Wrap(k.t, k.user, bin)
}

type result struct {
	stdout, stderr string
	code           int
}

// plugin runs kubectl-regcred.
func (k *kenv) plugin(args ...string) result {
	k.t.Helper()
	return k.exec(filepath.Join(binDir, "kubectl-regcred"), "", args...)
}

func (k *kenv) exec(bin, stdin string, args ...string) result {
	k.t.Helper()
	if !filepath.IsAbs(bin) {
		p, err := exec.LookPath(bin)
		if err != nil {
			testenv.Unavailable(k.t, err)
		}
		bin = p
	}
	r, err := launch.Run(k.as(bin), k.vars, stdin, args...)
	if err != nil {
		k.t.Fatal(err)
	}
	return result{r.Stdout, r.Stderr, r.Code}
}

// program drives helper (a credential helper's path) through docker's
// client package, as the kenv's user.
func (k *kenv) program(helper string) client.ProgramFunc {
	return client.NewShellProgramFuncWithEnv(k.as(helper), &k.vars)
}

// store puts a credential in the keyring through the helper, as docker would.
func (k *kenv) store(server, user, secret string) {
	k.t.Helper()
	if err := client.Store(k.program(filepath.Join(binDir, "docker-credential-regcred")), &credentials.Credentials{ServerURL: server, Username: user, Secret: secret}); err != nil {
		k.t.Fatalf("store %s: %v", server, err)
	}
}

// admin returns an admin clientset for a cluster context ("alpha" or "beta").
func admin(t *testing.T, kctx string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: kctx}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var nsCounter atomic.Int64

// namespace creates a fresh namespace, with a "default" ServiceAccount (no
// controller-manager runs to make one), in each given context.
func namespace(t *testing.T, contexts ...string) string {
	t.Helper()
	if len(contexts) == 0 {
		contexts = []string{"alpha"}
	}
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(t.Name()))
	name = strings.Map(func(r rune) rune { // an RFC 1123 label
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	if len(name) > 63 {
		name = name[:63]
	}
	name = strings.TrimRight(name, "-")
	for _, ctx := range contexts {
		c := admin(t, ctx)
		if _, err := c.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().ServiceAccounts(name).Create(context.Background(), &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return name
}

// secret reads a Secret with the admin client.
func secret(t *testing.T, kctx, ns, name string) *corev1.Secret {
	t.Helper()
	s, err := admin(t, kctx).CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret %s/%s in %s: %v", ns, name, kctx, err)
	}
	return s
}

// paused runs kubectl-regcred's fault build (-tags regcredfault) with args,
// its pause set by vars (REGCRED_FAULT_PAUSE_AFTER, …_BEFORE_WRITE naming
// the file pause), and returns once it has paused — it created pause —
// with the channel its result arrives on after the test removes pause.
func (k *kenv) paused(pause string, vars map[string]string, args ...string) <-chan result {
	k.t.Helper()
	faultBin, err := launch.BuildTagged(binDir, "kubectl-regcred", "kubectl-regcred-fault", "regcredfault")
	if err != nil {
		k.t.Fatal(err)
	}
	bin := k.as(faultBin)
	run := maps.Clone(k.vars)
	maps.Copy(run, vars)
	done := make(chan result, 1)
	go func() {
		r, err := launch.Run(bin, run, "", args...)
		if err != nil {
			r.Code, r.Stderr = -1, err.Error()
		}
		done <- result{r.Stdout, r.Stderr, r.Code}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(pause); err == nil {
			return done
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("%v never paused", args)
		}
	}
}
