package launch

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

// hostDirs are the directories outside its --root-dir that the kubelet and
// containerd write no matter how they are configured.
var hostDirs = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/run/containerd"}

// namespaceEnv marks a process MainInNamespace already moved into its own
// namespaces.
const namespaceEnv = "REGCRED_TEST_NAMESPACE"

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
