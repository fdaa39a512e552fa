//go:build linux

package testenv

import (
	"errors"
	"fmt"
	"io/fs"
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

// hostDirs are the directories outside its --root-dir that the kubelet and
// containerd write no matter how they are configured.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/run/containerd"}

// NodeImage is the sandbox ("pause") image's name: it is imported into
// containerd, never pulled.
const NodeImage = "regcred.test/pause:1"

// namespaceEnv marks a process MainInNamespace already moved into its own
// namespaces.
const namespaceEnv = "REGCRED_TEST_NAMESPACE"

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

// MainInNamespace is the TestMain body of a black-box suite that runs a
// Node (see InNamespace), when E2E says so.
func MainInNamespace(m interface{ Run() int }) int {
	return gate(func() int { return InNamespace(m.Run) })
}

// InNamespace runs run inside a new network and mount namespace, by running
// this program again under unshare (as root; elsewhere run runs as it is,
// and NodeUnavailable says why nodes cannot run). Every server, registry,
// API server and node it starts then shares a loopback no other process
// sees, and iptables rules and mounts vanish with the namespace. When the
// inner run ends — even by a crash or a test time-out, which skip every
// Stop — this outer process kills what is left in the namespace by PID and
// removes the host directories and cgroups that were not there before.
func InNamespace(run func() int) int {
	if os.Getenv(namespaceEnv) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip link set lo up: %v %s\n", err, out)
			return 1
		}
		return run()
	}
	if os.Geteuid() != 0 {
		return run()
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return run()
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	existed := map[string]bool{}
	for _, d := range hostDirs {
		for p := d; p != "/"; p = filepath.Dir(p) {
			if _, err := os.Stat(p); err == nil {
				existed[p] = true
			}
		}
	}
	cgroups := cgroupDirs()
	cmd := exec.Command("unshare", append([]string{"--net", "--mount", "--propagation", "private", "--", self}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), namespaceEnv+"=1")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "unshare:", err)
		return 1
	}
	netns := namespaceOf(cmd.Process.Pid)
	err = cmd.Wait()
	if netns != "" {
		killInNamespace(netns, 0)
	}
	removeNewCgroups(cgroups)
	for _, d := range hostDirs {
		for p := d; p != "/" && !existed[p]; p = filepath.Dir(p) {
			_ = os.Remove(p) // only if empty: a directory someone filled stays
		}
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintln(os.Stderr, "unshare:", err)
		return 1
	}
	return 0
}

// namespaceOf waits until pid has left this process's network namespace
// (unshare switches before it runs the program) and returns its namespace.
func namespaceOf(pid int) string {
	ours, _ := os.Readlink("/proc/self/ns/net")
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			return ""
		}
		if ns != ours {
			return ns
		}
	}
	return ""
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

// containerdConfig is containerd 1.6's configuration for the node: every
// path under the node's directory, the CRI plugin with runc on cgroupfs,
// no CNI (hostNetwork Pods only), and per-registry hosts.toml files.
// restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, and without it
// runc fails every sandbox ("can't get final child's PID from pipe").
const containerdConfig = `version = 2
root = "%[1]s/containerd/root"
state = "%[1]s/containerd/state"
[grpc]
  address = "%[2]s"
[ttrpc]
  address = "%[2]s.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "%[3]s"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    conf_dir = "%[1]s/cni/conf"
    bin_dir = "%[1]s/cni/bin"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "%[1]s/certs.d"
`

func (n *Node) startContainerd(registries []string) error {
	for _, d := range []string{"containerd", "cni/conf", "cni/bin", "certs.d", "pod-logs"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o700); err != nil {
			return err
		}
	}
	for _, host := range registries {
		hosts := fmt.Sprintf("server = \"http://%[1]s\"\n\n[host.\"http://%[1]s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", host)
		d := filepath.Join(n.dir, "certs.d", host)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(d, "hosts.toml"), []byte(hosts), 0o600); err != nil {
			return err
		}
	}
	cfg := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, containerdConfig, n.dir, n.socket, NodeImage), 0o600); err != nil {
		return err
	}
	var err error
	if n.containerd, err = startLogged(filepath.Join(n.dir, "containerd.log"), "containerd", "--config", cfg); err != nil {
		return err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := exec.Command("ctr", "--address", n.socket, "version").Run(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd did not answer on %s (log tail: %s)", n.socket, tail(readFile(filepath.Join(n.dir, "containerd.log")), 2000))
		}
	}
}

// importPause builds the pause image and imports it into containerd, so
// that sandboxes never need a pull.
func (n *Node) importPause() error {
	tarball := filepath.Join(n.dir, "pause.tar")
	if err := WriteAppImage(tarball, NodeImage); err != nil {
		return err
	}
	out, err := exec.Command("ctr", "--address", n.socket, "-n", "k8s.io", "images", "import", tarball).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import: %v %s", err, out)
	}
	return nil
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
	_, port, _ := strings.Cut(freeAddr(), ":")
	_, healthz, _ := strings.Cut(freeAddr(), ":")
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

// killNamespaceProcesses kills, by PID, every process in this process's
// network namespace that the tests do not manage themselves (containerd's
// shims, containers).
func killNamespaceProcesses() {
	if ours, err := os.Readlink("/proc/self/ns/net"); err == nil {
		killInNamespace(ours, os.Getpid())
	}
}

// killInNamespace kills, by PID, every process in network namespace netns
// except self and the processes self started (0: none excepted).
func killInNamespace(netns string, self int) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var left []int
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			var pid int
			if _, err := fmt.Sscan(filepath.Base(d), &pid); err != nil || pid == self || pid == os.Getpid() {
				continue
			}
			if ns, err := os.Readlink(filepath.Join(d, "ns", "net")); err == nil && ns == netns && (self == 0 || parentOf(d) != self) {
				left = append(left, pid)
			}
		}
		if len(left) == 0 {
			return
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// parentOf returns the parent PID of the process in procDir (0 if unknown).
func parentOf(procDir string) int {
	stat := readFile(filepath.Join(procDir, "stat"))
	// pid (comm) state ppid ...: comm may hold spaces, so cut after ")".
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	var ppid int
	if len(f) < 2 {
		return 0
	}
	fmt.Sscan(f[1], &ppid)
	return ppid
}

// cgroupDirs lists the cgroup directories up to three levels deep.
func cgroupDirs() map[string]bool {
	out := map[string]bool{}
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(strings.TrimPrefix(p, "/sys/fs/cgroup"), "/") > 4 {
			return filepath.SkipDir
		}
		out[p] = true
		return nil
	})
	return out
}

// removeNewCgroups removes the cgroup directories that were not there
// before, deepest first (a cgroup directory goes with rmdir once empty).
func removeNewCgroups(before map[string]bool) {
	var made []string
	for p := range cgroupDirs() {
		if !before[p] {
			made = append(made, p)
		}
	}
	slices.SortFunc(made, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, p := range made {
		_ = syscall.Rmdir(p)
	}
}

// startLogged starts a long-running program with its output in logPath.
func startLogged(logPath, bin string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	return cmd, nil
}

// stopProcess ends a started process: SIGTERM, then SIGKILL after 10 s.
func stopProcess(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
