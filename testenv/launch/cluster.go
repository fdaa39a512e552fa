package launch

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Cluster is a real kube-apiserver on a real etcd, on loopback. It has
// token users: "admin" (system:masters) and "nobody" (no rights at all).
type Cluster struct {
	Name       string // cluster/context name prefix in the kubeconfig
	Server     string // https://127.0.0.1:PORT
	AdminToken string
	dir        string
	procs      []*exec.Cmd
	apiBin     string
	apiArgs    []string
}

// K8sTools returns the directory with kube-apiserver, the kubelet and
// kubelet-keyring, building them once (cached across runs) with
// scripts/k8s-tools.sh, unless $REGCRED_K8S_TOOLS names it.
var K8sTools = scriptTools("REGCRED_K8S_TOOLS", "k8s-tools.sh", "Kubernetes test tools")

// K8sToolsCached reports whether K8sTools would return at once: the tools
// are named by $REGCRED_K8S_TOOLS or already built and cached.
func K8sToolsCached() bool {
	if os.Getenv("REGCRED_K8S_TOOLS") != "" {
		return true
	}
	root, err := RepoRoot()
	if err != nil {
		return false
	}
	return exec.Command("sh", filepath.Join(root, "scripts", "k8s-tools.sh"), "--cached").Run() == nil
}

// ClientTools returns the directory with helm and oras, building them once
// (cached across runs) with scripts/client-tools.sh, unless
// $REGCRED_CLIENT_TOOLS names it.
var ClientTools = scriptTools("REGCRED_CLIENT_TOOLS", "client-tools.sh", "helm and oras")

// scriptTools returns a function that runs a scripts/ build script once and
// returns the directory it prints, or $env when set.
func scriptTools(env, script, what string) func() (string, error) {
	var (
		once sync.Once
		dir  string
		err  error
	)
	return func() (string, error) {
		once.Do(func() {
			if d := os.Getenv(env); d != "" {
				dir = d
				return
			}
			root, rerr := RepoRoot()
			if rerr != nil {
				err = rerr
				return
			}
			cmd := exec.Command("sh", filepath.Join(root, "scripts", script))
			cmd.Stderr = os.Stderr
			out, cerr := cmd.Output()
			if cerr != nil {
				err = fmt.Errorf("build %s: %w", what, cerr)
				return
			}
			dir = strings.TrimSpace(string(out))
		})
		return dir, err
	}
}

// RepoRoot is the main module's directory.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// ClusterOptions change how StartCluster sets up the API server.
type ClusterOptions struct {
	// ServiceAccountAdmission turns on the ServiceAccount admission plugin,
	// which gives Pods their ServiceAccount's imagePullSecrets. (With no
	// controller-manager running, tests create ServiceAccounts themselves.)
	ServiceAccountAdmission bool
}

// StartCluster starts etcd and kube-apiserver in dir (which must exist and
// be private to this cluster). Stop ends them.
func StartCluster(dir, name string, opts ...ClusterOptions) (*Cluster, error) {
	tools, err := K8sTools()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		return nil, fmt.Errorf("etcd not found on PATH (Debian package etcd-server; `make deps` installs it)")
	}
	c := &Cluster{Name: name, dir: dir, AdminToken: randomHex(16)}
	etcdClient, etcdPeer := FreeAddr(), FreeAddr()
	if err := c.start("etcd", "etcd",
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+etcdClient, "--advertise-client-urls", "http://"+etcdClient,
		"--listen-peer-urls", "http://"+etcdPeer, "--initial-advertise-peer-urls", "http://"+etcdPeer,
		"--initial-cluster", "default=http://"+etcdPeer, "--log-level", "error"); err != nil {
		return nil, err
	}
	if err := waitHTTP("http://"+etcdClient+"/health", "", 30*time.Second); err != nil {
		c.Stop()
		return nil, fmt.Errorf("etcd: %w (log: %s)", err, c.log("etcd"))
	}
	if err := writeKeys(dir); err != nil {
		c.Stop()
		return nil, err
	}
	tokens := fmt.Sprintf("%s,admin,1,\"system:masters\"\n%s,nobody,2\n", c.AdminToken, NobodyToken)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		c.Stop()
		return nil, err
	}
	apiAddr := FreeAddr()
	_, port, _ := strings.Cut(apiAddr, ":")
	c.Server = "https://" + apiAddr
	c.apiBin = filepath.Join(tools, "kube-apiserver")
	c.apiArgs = []string{
		"--etcd-servers=http://" + etcdClient,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--secure-port=" + port, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--authorization-mode=RBAC", "--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--service-cluster-ip-range=10.96.0.0/24", "--endpoint-reconciler-type=none",
		"--v=0"}
	if len(opts) == 0 || !opts[0].ServiceAccountAdmission {
		c.apiArgs = append(c.apiArgs, "--disable-admission-plugins=ServiceAccount")
	}
	if err := c.StartAPIServer(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// StartAPIServer (re)starts the API server on its etcd and waits until it
// is ready.
func (c *Cluster) StartAPIServer() error {
	if err := c.start("kube-apiserver", c.apiBin, c.apiArgs...); err != nil {
		return err
	}
	if err := waitHTTP(c.Server+"/readyz", c.AdminToken, 90*time.Second); err != nil {
		return fmt.Errorf("kube-apiserver: %w (log tail: %s)", err, tail(c.log("kube-apiserver"), 2000))
	}
	return nil
}

// NobodyToken authenticates the user with no RBAC rights.
const NobodyToken = "nobody-token-without-any-rights"

func (c *Cluster) start(name, bin string, args ...string) error {
	logf, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	logf.Close()
	c.procs = append(c.procs, cmd)
	return nil
}

func (c *Cluster) log(name string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, name+".log"))
	return string(b)
}

// StopAPIServer kills the API server, leaving etcd: the cluster becomes
// unreachable mid-run, as in an outage.
func (c *Cluster) StopAPIServer() {
	for _, p := range c.procs[1:] {
		_ = p.Process.Kill()
		_ = p.Wait()
	}
	c.procs = c.procs[:1]
}

// Stop ends the cluster's processes.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		_ = c.procs[i].Process.Kill()
		_ = c.procs[i].Wait()
	}
	c.procs = nil
}

// Kubeconfig writes a kubeconfig with contexts "<name>" (admin) and
// "<name>-nobody" for every cluster, the first cluster's admin current,
// and returns its path.
func Kubeconfig(dir string, clusters ...*Cluster) (string, error) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\nclusters:\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    server: %s\n    insecure-skip-tls-verify: true\n", c.Name, c.Server)
	}
	b.WriteString("users:\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "- name: %s-admin\n  user:\n    token: %s\n", c.Name, c.AdminToken)
		fmt.Fprintf(&b, "- name: %s-nobody\n  user:\n    token: %s\n", c.Name, NobodyToken)
	}
	b.WriteString("contexts:\n")
	for _, c := range clusters {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: %s\n    user: %s-admin\n    namespace: default\n", c.Name, c.Name, c.Name)
		fmt.Fprintf(&b, "- name: %s-nobody\n  context:\n    cluster: %s\n    user: %s-nobody\n    namespace: default\n", c.Name, c.Name, c.Name)
	}
	fmt.Fprintf(&b, "current-context: %s\n", clusters[0].Name)
	p := filepath.Join(dir, "kubeconfig")
	return p, os.WriteFile(p, []byte(b.String()), 0o600)
}

func writeKeys(dir string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600)
}

// waitHTTP polls url until it answers 200.
func waitHTTP(url, token string, limit time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %v (last: %s)", url, limit, last)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
