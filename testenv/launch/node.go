//go:build linux

package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// A Node is a real Kubernetes node: containerd (Debian's) with runc, and a
// kubelet built from k8s.io/kubernetes like kube-apiserver, registered with
// a test Cluster. Its Pods must use hostNetwork: no CNI is installed, so
// the node stays NotReady, which Pods with nodeName set do not mind.
//
// A node changes the host: iptables rules, mounts, directories the kubelet
// insists on (/var/lib/kubelet/device-plugins, /var/log/containers), cgroups.
// So it runs only inside the private network and mount namespace that
// MainInNamespace sets up, over tmpfs mounts of those directories, and Stop
// removes every directory and cgroup it created and ends every process it
// started, by PID.
type Node struct {
	Name string
	// PodLogs is the kubelet's podLogsDir: NAMESPACE_POD_UID/CONTAINER/0.log.
	PodLogs    string
	dir        string
	socket     string
	containerd *exec.Cmd
	kubelet    *exec.Cmd
	created    []string        // host directories made for the node, to remove
	mounted    []string        // tmpfs mounts over host directories
	cgroups    map[string]bool // cgroup directories that existed before
}

// NodeImage is the sandbox ("pause") image's name: it is imported into
// containerd, never pulled.
const NodeImage = "regcred.test/pause:1"

// NodeUnavailable says why this process cannot run a node, or nil.
func NodeUnavailable() error {
	if os.Geteuid() != 0 {
		return errors.New("a kubelet and containerd need root")
	}
	if os.Getenv(namespaceEnv) == "" {
		return errors.New("not inside the private namespaces of MainInNamespace")
	}
	for _, p := range []string{"containerd", "runc", "ctr", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%s not found on PATH (Debian packages containerd runc iproute2; `make deps` installs them as root)", p)
		}
	}
	return nil
}

// StartNode starts containerd and a kubelet named name in dir, registered
// with c through kubeconfig (an admin context), trusting the given plain
// HTTP loopback registries. It waits until the Node object exists.
func StartNode(dir, name, kubeconfig string, c *Cluster, registries ...string) (*Node, error) {
	if err := NodeUnavailable(); err != nil {
		return nil, err
	}
	tools, err := K8sTools()
	if err != nil {
		return nil, err
	}
	n := &Node{Name: name, dir: dir, PodLogs: filepath.Join(dir, "pod-logs"), socket: filepath.Join(dir, "containerd.sock")}
	n.cgroups = cgroupDirs()
	ok := false
	defer func() {
		if !ok {
			n.Stop()
		}
	}()
	if err := n.coverHostDirs(); err != nil {
		return nil, err
	}
	if err := n.startContainerd(registries); err != nil {
		return nil, err
	}
	if err := n.importPause(); err != nil {
		return nil, err
	}
	if err := n.startKubelet(filepath.Join(tools, "kubelet"), kubeconfig); err != nil {
		return nil, err
	}
	if err := waitHTTP(c.Server+"/api/v1/nodes/"+name, c.AdminToken, 60*time.Second); err != nil {
		return nil, fmt.Errorf("kubelet did not register node %s: %w (log tail: %s)", name, err, tail(readFile(filepath.Join(dir, "kubelet.log")), 3000))
	}
	ok = true
	return n, nil
}

// coverHostDirs mounts a tmpfs over each host directory the node writes,
// creating the ones that do not exist (and remembering them for Stop).
func (n *Node) coverHostDirs() error {
	for _, d := range hostDirs {
		made, err := mkdirAllRecorded(d)
		n.created = append(n.created, made...)
		if err != nil {
			return err
		}
		if err := syscall.Mount("tmpfs", d, "tmpfs", 0, "mode=0755"); err != nil {
			return fmt.Errorf("mount tmpfs on %s: %w", d, err)
		}
		n.mounted = append(n.mounted, d)
	}
	return nil
}

// mkdirAllRecorded is os.MkdirAll that returns the directories it created,
// outermost first.
func mkdirAllRecorded(dir string) ([]string, error) {
	var missing []string
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
	}
	for i, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil {
			return missing[:i], err
		}
	}
	return missing, nil
}

// kubeletConfig is the node's KubeletConfiguration: cgroupfs without QoS
// cgroups on this machine's cgroup v1, loopback-only serving, anonymous
// AlwaysAllow (nothing outside the namespace can reach it), and eviction
// and image GC thresholds a small test disk never trips.
const kubeletConfig = `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
containerRuntimeEndpoint: unix://%[1]s
imageServiceEndpoint: unix://%[1]s
address: 127.0.0.1
port: %[2]s
healthzBindAddress: 127.0.0.1
healthzPort: %[3]s
readOnlyPort: 0
podLogsDir: %[4]s
resolvConf: ""
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
registerNode: true
syncFrequency: 2s
fileCheckFrequency: 2s
`

func (n *Node) startKubelet(bin, kubeconfig string) error {
	_, port, _ := strings.Cut(FreeAddr(), ":")
	_, healthz, _ := strings.Cut(FreeAddr(), ":")
	cfg := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, kubeletConfig, n.socket, port, healthz, n.PodLogs), 0o600); err != nil {
		return err
	}
	var err error
	n.kubelet, err = startLogged(filepath.Join(n.dir, "kubelet.log"), bin,
		"--config", cfg, "--kubeconfig", kubeconfig,
		"--root-dir", filepath.Join(n.dir, "kubelet"), "--cert-dir", filepath.Join(n.dir, "kubelet", "pki"),
		"--hostname-override", n.Name, "--node-ip", "127.0.0.1", "--v", "1")
	return err
}

// PodLog returns what a container of a Pod printed, from the kubelet's
// log files (the API server cannot reach the node for `kubectl logs`).
func (n *Node) PodLog(namespace, pod, container string) string {
	matches, _ := filepath.Glob(filepath.Join(n.PodLogs, namespace+"_"+pod+"_*", container, "*.log"))
	var b strings.Builder
	for _, m := range matches {
		b.WriteString(readFile(m))
	}
	return b.String()
}

// Log is the tail of the kubelet's log, for failure messages.
func (n *Node) Log() string { return tail(readFile(filepath.Join(n.dir, "kubelet.log")), 4000) }

// Stop ends the node: the kubelet, every container (by killing its
// tasks), containerd and anything else left in this namespace, each by
// PID; then it unmounts what it mounted and removes the host directories
// and cgroups the node created.
func (n *Node) Stop() {
	stopProcess(n.kubelet)
	if n.containerd != nil {
		n.killTasks()
		stopProcess(n.containerd)
	}
	killNamespaceProcesses()
	// What the kubelet and containerd mounted (pod volumes, container root
	// filesystems) lies under the node's directory; then the tmpfs covers.
	for _, m := range mountsUnder(n.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	for i := len(n.mounted) - 1; i >= 0; i-- {
		_ = syscall.Unmount(n.mounted[i], syscall.MNT_DETACH)
	}
	n.mounted = nil
	for i := len(n.created) - 1; i >= 0; i-- {
		_ = os.Remove(n.created[i])
	}
	n.created = nil
	if n.cgroups != nil {
		removeNewCgroups(n.cgroups)
	}
}

// mountsUnder lists this mount namespace's mount points below dir,
// deepest first.
func mountsUnder(dir string) []string {
	var out []string
	for _, line := range strings.Split(readFile("/proc/self/mountinfo"), "\n") {
		// id parent major:minor root mountpoint ...; octal escapes for spaces.
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(f[4])
		if strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}

// killTasks kills every container task containerd runs for the node.
func (n *Node) killTasks() {
	out, err := exec.Command("ctr", "--address", n.socket, "-n", "k8s.io", "tasks", "ls", "-q").Output()
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		_ = exec.Command("ctr", "--address", n.socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id).Run()
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err := exec.Command("ctr", "--address", n.socket, "-n", "k8s.io", "tasks", "ls", "-q").Output()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			return
		}
	}
}
