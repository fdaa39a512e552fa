package testenv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/regcred/regcred/internal/version"
)

// Module is the project's module path.
const Module = "github.com/regcred/regcred"

// Build compiles the command in cmd/<name> into dir and returns its path.
// The version is fixed so tests can assert `version` exactly.
func Build(dir, name string) (string, error) {
	return BuildTagged(dir, name, name, "")
}

// BuildTagged is Build with build tags, writing the binary as out.
func BuildTagged(dir, name, out, tags string) (string, error) {
	out = filepath.Join(dir, out)
	cmd := exec.Command("go", "build", "-o", out, "-tags", tags,
		"-ldflags", "-X "+version.Symbol+"="+TestVersion,
		Module+"/cmd/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as released: static
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// TestVersion is the version Build stamps into binaries.
const TestVersion = "v0.0.0-test"

// BuildTool compiles a tool the project's go.mod pins (a `tool` line) into dir.
func BuildTool(dir, pkg string) error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, filepath.Base(pkg)), pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Result is what one process did.
type Result struct {
	Stdout, Stderr string
	// Code is the exit code; -1 when a signal ended the process.
	Code int
}

// Run runs bin with exactly env (name → value), stdin and args, and
// returns what it did. Only a failure to start it is an error.
func Run(bin string, env map[string]string, stdin string, args ...string) (Result, error) {
	cmd := exec.Command(bin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return run(cmd, stdin)
}

// run runs cmd with stdin and collects what it did.
func run(cmd *exec.Cmd, stdin string) (Result, error) {
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		return r, err
	}
	return r, nil
}

// BuildWindows cross-compiles the command in cmd/<name> for windows/amd64
// into dir and returns the .exe's path.
func BuildWindows(dir, name string) (string, error) {
	return BuildWindowsPackage(dir, name, Module+"/cmd/"+name)
}

// BuildWindowsPackage cross-compiles the main package pkg for
// windows/amd64 as dir/<name>.exe and returns its path.
func BuildWindowsPackage(dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name+".exe")
	cmd := exec.Command("go", "build", "-o", out,
		"-ldflags", "-X "+version.Symbol+"="+TestVersion, pkg)
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s for windows: %v\n%s", name, err, b)
	}
	return out, nil
}

// MainWithBinaries is the TestMain body of a black-box suite: when E2E
// says so, it builds the named commands (a name under cmd/, or a full
// package path for a tool go.mod pins) into a fresh directory, stores its
// path in *dir, runs the tests, removes it and returns the exit code for
// os.Exit.
func MainWithBinaries(m interface{ Run() int }, dir *string, names ...string) int {
	return gate(func() int { return mainWithBinaries(m, dir, names...) })
}

func mainWithBinaries(m interface{ Run() int }, dir *string, names ...string) int {
	d, err := os.MkdirTemp("", "regcred-bin-")
	if err == nil {
		err = os.Chmod(d, 0o755) // throw-away users run them too (see KernelUser)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	for _, n := range names {
		var err error
		if strings.Contains(n, "/") {
			err = BuildTool(d, n)
		} else {
			_, err = Build(d, n)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	*dir = d
	before, err := ownKernelKeys()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	}
	code := m.Run()
	after, err := ownKernelKeys()
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, "testenv:", err)
		return 1
	case !slices.Equal(after, before):
		fmt.Fprintf(os.Stderr, "FAIL: the tests changed this user's own persistent kernel keyring (regcred's keys: %q before, %.300q after); a test must use a throw-away user (testenv.NewKernelUser)\n", before, after)
		return 1
	}
	return code
}

// ownKernelKeys lists regcred's keys in this user's own persistent kernel
// keyring (of this process's user namespace: the newcomer test and the
// bench run in namespaces of their own, whose keys /proc/keys shows under
// the same uid). A persistent keyring found empty is dropped again: asking
// for it creates it, and the machine is to be left as found.
func ownKernelKeys() ([]string, error) {
	ring, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
	if err != nil {
		return nil, nil // no persistent keyrings here: none to leak into
	}
	ids, err := readKey(ring)
	if err != nil {
		return nil, fmt.Errorf("read this user's persistent keyring: %w", err)
	}
	if len(ids) == 0 {
		_, _ = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, ring, 0, 0, 0)
		return nil, nil
	}
	var out []string
	for b := ids; len(b) >= 4; b = b[4:] {
		desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, int(int32(binary.NativeEndian.Uint32(b))))
		if err == nil && strings.Contains(desc, ";docker-credential-regcred:") {
			out = append(out, desc[strings.LastIndex(desc, ";")+1:])
		}
	}
	slices.Sort(out)
	return out, nil
}
