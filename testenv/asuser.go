package testenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/regcred/regcred/testenv/launch"
)

// envAsUser marks the test binary MainAsUser runs again as another user.
const envAsUser = "REGCRED_TEST_AS_USER"

// MainAsUser is the TestMain body of a package whose tests use the
// keyrings as people do, as an ordinary user. Run as root (as CI runs
// everything), it runs the test binary again as a throw-away user — with a
// passwd entry, a HOME of its own and no session bus — and returns that
// run's exit code; run as anyone else, it runs the tests. Fuzzing runs
// as it is (its workers share root's fuzz cache).
func MainAsUser(m interface{ Run() int }) int {
	if os.Geteuid() != 0 || os.Getenv(envAsUser) != "" || fuzzing(os.Args[1:]) {
		return m.Run()
	}
	code, err := runAsUser(os.Args[0], os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv: run the tests as an ordinary user:", err)
		return 1
	}
	return code
}

// fuzzing reports whether args ask the test binary to fuzz.
func fuzzing(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "-test.fuzz=") || strings.HasPrefix(a, "-test.fuzzworker") {
			return true
		}
	}
	return false
}

// runAsUser runs the test binary bin with args as a throw-away user. The
// go command's test log (which keeps the test cache honest) is written
// where the user may write, then copied where the go command reads it.
func runAsUser(bin string, args []string) (int, error) {
	u, err := launch.NewKernelUser()
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := u.Remove(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}()
	unregister, err := u.Register()
	if err != nil {
		return 0, err
	}
	defer func() {
		if err := unregister(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}()
	own := filepath.Join(u.Home, ".wrap", filepath.Base(bin))
	if err := copyFile(bin, own, 0o755); err != nil {
		return 0, err
	}
	var testlog string
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "-test.testlogfile="); ok {
			testlog, args[i] = v, "-test.testlogfile="+filepath.Join(u.Home, "tmp", "testlog.txt")
		}
	}
	// The package's directory may sit where the user cannot go (a clone
	// under /root): its testdata, all a test reads from it, goes along.
	dir := filepath.Join(u.Home, "pkg")
	if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
		return 0, err
	}
	if err := u.Own(dir); err != nil {
		return 0, err
	}
	uid := strconv.Itoa(u.UID)
	cmd := exec.Command("setpriv", append([]string{"--reuid", uid, "--regid", uid, "--clear-groups", "--", own}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Dir = os.Stdin, os.Stdout, os.Stderr, dir
	cmd.Env = append(userEnv(u), envAsUser+"=1")
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, err
	}
	if testlog != "" {
		if cerr := copyFile(filepath.Join(u.Home, "tmp", "testlog.txt"), testlog, 0o644); cerr != nil {
			return 0, cerr
		}
	}
	return cmd.ProcessState.ExitCode(), nil
}

// userEnv is this process's environment with the user's own HOME, XDG
// directories and TMPDIR, and no session bus (each test starts its own).
func userEnv(u *launch.KernelUser) []string {
	own := u.Env()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, mine := own[k]; mine || k == "DBUS_SESSION_BUS_ADDRESS" || k == "XDG_DATA_HOME" || k == "REGCRED_BACKEND" {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range own {
		if k != "REGCRED_BACKEND" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func copyFile(from, to string, mode os.FileMode) error {
	// A program, open for writing when another goroutine forks, could not
	// be run until that child execs (see launch.WriteProgram).
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
