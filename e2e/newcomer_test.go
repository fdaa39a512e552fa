package e2e_test

import (
	"context"
	"os"
	"os/exec"
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

// newcomer is a user on a fresh machine without a desktop: a HOME of their
// own, no session bus, and the README in hand. They work as root in a user
// namespace (see testenv.UserNamespace): their kernel keyring is theirs.
type newcomer struct {
	t    *testing.T
	ns   *testenv.UserNamespace
	root string // the clone
	home string
	env  map[string]string
}

// sh runs a shell command line as the newcomer types it, in the clone.
func (n *newcomer) sh(stdin, line string) (string, int) {
	n.t.Helper()
	cmd := n.ns.Command("sh", "-c", line)
	cmd.Dir = n.root
	for k, v := range n.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		n.t.Fatalf("%s: %v", line, err)
	}
	return string(out), 0
}

// expect runs line and checks its exit code and that its output holds each
// of want.
func (n *newcomer) expect(line string, code int, want ...string) string {
	n.t.Helper()
	out, got := n.sh("", line)
	if got != code {
		n.t.Errorf("%s: exit %d, want %d\n%s", line, got, code, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			n.t.Errorf("%s: output lacks %q:\n%s", line, w, out)
		}
	}
	return out
}

// TestNewcomerPath walks the README's first ten minutes on a machine
// without a desktop: install.sh, which picks the kernel keyring, the help,
// the first errors, a docker login with no other step, a second session
// that sees it, and the cluster-side errors a newcomer meets first.
func TestNewcomerPath(t *testing.T) {
	testenv.Require(t, "sh", "docker", "kubectl")
	root, err := launch.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	home, err := os.MkdirTemp("", "regcred-newcomer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(home)
	})
	bindir := filepath.Join(home, ".local", "bin")
	n := &newcomer{t: t, ns: testenv.NewUserNamespace(t), root: root, home: home, env: map[string]string{
		"HOME": home,
		// As the install warning says: ~/.local/bin on PATH.
		"PATH": bindir + string(os.PathListSeparator) + strings.Join(withoutDir(filepath.SplitList(os.Getenv("PATH")), binDir), string(os.PathListSeparator)),
		"LANG": "C.UTF-8",
	}}
	// Reuse this machine's Go caches: the newcomer's first build is measured elsewhere.
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GOFLAGS"} {
		out, _ := exec.Command("go", "env", v).Output()
		n.env[v] = strings.TrimSpace(string(out))
	}
	dockerCfg := filepath.Join(home, ".docker", "config.json")

	// 1. ./install.sh with no session bus: binaries installed, the kernel
	// keyring chosen and recorded, docker wired, doctor all ✓.
	config := filepath.Join(home, ".config", "regcred", "config.json")
	n.expect("./install.sh", 0,
		"installed "+filepath.Join(bindir, "docker-credential-regcred"),
		"credentials are kept in the kernel keyring (recorded in "+config+": no Secret Service answered (no D-Bus session bus))",
		dockerCfg+`: docker now stores registry credentials in the OS keyring ("credsStore": "regcred")`,
		"docker-credential-regcred doctor:",
		"✓ keyring chosen: kernel keyring (recorded in "+config+": no Secret Service answered",
		"✓ kernel keyring answers",
		"the kernel clears this keyring at reboot, and after 3 days in which nothing used it",
		"✓ keyring items in order",
		"next: docker login REGISTRY")
	if b, err := os.ReadFile(config); err != nil || !strings.HasPrefix(string(b), `{"backend":"kernel","why":"no Secret Service answered`) {
		t.Errorf("the recorded choice: %q, %v", b, err)
	}

	// 2. Help, in one style, for both binaries.
	n.expect("docker-credential-regcred help", 0, "Management commands:", "Examples:")
	n.expect("docker-credential-regcred configure --help", 0, "Examples:", "--tools LIST", "--backend KEYRING")
	n.expect("docker-credential-regcred ls --help", 0, "Examples:")
	n.expect("kubectl regcred --help", 0, "Examples:", `Use "kubectl regcred options"`)
	n.expect("kubectl regcred inspect --help", 0, "Examples:")
	n.expect("kubectl regcred options", 0, "--kubeconfig")
	n.expect("make -s help", 0, "make test", "make demo")

	// 3. The first errors: one line each, with the fix.
	out := n.expect("REGCRED_BACKEND=secret-service DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent docker-credential-regcred ls", 1,
		"no D-Bus session bus answers at DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent", "the session that set it has ended")
	oneLine(t, "ls on a dead bus", out)
	out = n.expect("kubectl regcred inspect", 1,
		"error: no cluster to talk to: no kubeconfig names one (looked in "+filepath.Join(home, ".kube", "config")+"); pass --kubeconfig FILE or set KUBECONFIG")
	oneLine(t, "inspect without a kubeconfig", out)

	// 4. docker login, with no other step; a second login session (a
	// session keyring of its own, as each SSH login gets) sees it.
	r := testenv.StartRegistry(t, map[string]string{user: password})
	out, code := n.sh(password+"\n", "docker login "+r.Host+" -u "+user+" --password-stdin")
	if code != 0 || !strings.Contains(out, "Login Succeeded") {
		t.Fatalf("docker login: exit %d\n%s", code, out)
	}
	out, code = n.sh("", "keyctl session - docker-credential-regcred ls")
	if code != 0 || !strings.Contains(out, r.Host+"  "+user) {
		t.Errorf("ls in a second session: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(dockerCfg); strings.Contains(string(b), `"auth"`) {
		t.Errorf("config.json holds a secret:\n%s", b)
	}
	if hits, err := launch.FilesUnder([]string{home}, password); err != nil || len(hits) != 0 {
		t.Errorf("the password in plaintext in %q (%v)", hits, err)
	}

	// 5. The cluster side's first errors, against a real API server.
	dir := filepath.Join(home, "cluster")
	os.MkdirAll(dir, 0o700)
	c, err := launch.StartCluster(dir, "newcomer")
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(c.Stop)
	kubeconfig, err := launch.Kubeconfig(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(cfg).CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.env["KUBECONFIG"] = kubeconfig
	inSession := func(line string) (string, int) { // a new SSH login: a session keyring of its own
		out, code := n.sh("", "keyctl session - sh -c '"+line+"'")
		return strings.TrimPrefix(out[strings.Index(out, "\n")+1:], ""), code // after keyctl's "Joined session keyring"
	}
	out, code = inSession("kubectl regcred export -n doesnotexist")
	if want := "error: namespace \"doesnotexist\" not found: create it first, or pick another with -n\n"; code != 1 || out != want {
		t.Errorf("export to a missing namespace: exit %d %q, want %q", code, out, want)
	}
	out, code = inSession("kubectl regcred export -n team --service-account default")
	if want := "error: serviceaccount \"default\" not found in namespace \"team\": create it (kubectl create serviceaccount default -n team), or name another with --service-account\n"; code != 1 || out != want {
		t.Errorf("export with a missing ServiceAccount: exit %d %q, want %q", code, out, want)
	}
	out, code = inSession("kubectl regcred export -n team && kubectl regcred verify -n team")
	if code != 0 || !strings.Contains(out, "secret/regcred created") {
		t.Errorf("export after the fixes: exit %d\n%s", code, out)
	}
}

// oneLine fails the test unless out is exactly one line.
func oneLine(t *testing.T, what, out string) {
	t.Helper()
	if strings.Count(out, "\n") != 1 {
		t.Errorf("%s: want one line, got:\n%s", what, out)
	}
}
