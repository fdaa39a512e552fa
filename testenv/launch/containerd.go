package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

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
