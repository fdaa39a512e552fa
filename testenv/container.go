package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/regcred/regcred/testenv/launch"
)

// Container runs one static program in a container (rootful podman, its
// own storage under the test's directory, no image: the program is the
// whole root file system), as a throw-away user.
type Container struct {
	dir, bin string
	uid      int
}

// NewContainer prepares a container holding bin, run as uid, in a
// directory of its own that tb removes.
func NewContainer(tb testing.TB, bin string, uid int) (*Container, error) {
	if _, err := exec.LookPath("podman"); err != nil {
		return nil, fmt.Errorf("podman not found on PATH (Debian package podman; `make deps` installs it as root)")
	}
	dir, err := os.MkdirTemp("", "rc-") // podman refuses a runroot over 50 characters
	if err != nil {
		return nil, err
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "tmp"), 0o777); err != nil {
		return nil, err
	}
	if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	if err := launch.WriteProgram(filepath.Join(rootfs, "program"), data, 0o755); err != nil {
		return nil, err
	}
	return &Container{dir: dir, bin: "/program", uid: uid}, nil
}

// Run runs the program with args, stdin and env, under the seccomp
// profile security ("seccomp=FILE"; "" for podman's default). The
// container's limits are the caller's own: root here may not raise them
// (no CAP_SYS_RESOURCE), and podman's defaults would.
func (c *Container) Run(env map[string]string, security, stdin string, args ...string) (launch.Result, error) {
	podman := []string{"--root", filepath.Join(c.dir, "storage"), "--runroot", filepath.Join(c.dir, "run"), "--storage-driver", "vfs",
		"run", "--rm", "-i", "--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
		"--user", strconv.Itoa(c.uid) + ":" + strconv.Itoa(c.uid)}
	if security != "" {
		podman = append(podman, "--security-opt", security)
	}
	for k, v := range env {
		podman = append(podman, "--env", k+"="+v)
	}
	// The root file system comes last, where an image would: then the command.
	podman = append(podman, "--rootfs", filepath.Join(c.dir, "rootfs"), c.bin)
	cmd := exec.Command("podman", append(podman, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	return launch.RunCmd(cmd, stdin)
}
