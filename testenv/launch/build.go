package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

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
	if b, err := GoBuildReleased(nil, out, "-tags", tags,
		"-ldflags", "-X "+version.Symbol+"="+TestVersion, Module+"/cmd/"+name); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", name, err, b)
	}
	return out, nil
}

// GoBuild builds a main package as out, with env added to this process's:
// args are build flags, then the package. It goes through go run, with cp
// as the program that runs the result: go run keeps what it links in the
// build cache (Go 1.24 and later), where go build -o links again each
// time, and every black-box package builds the same few binaries at each
// run (a kubectl-regcred link is about 5 s of CPU). Like go build -o, it
// makes out's directory when missing. It returns go's output.
func GoBuild(env []string, out string, args ...string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	cmd := exec.Command("go", append(append([]string{"run", "-exec", "cp --remove-destination"}, args...), out)...)
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// GoBuildReleased is GoBuild with the release's flags (CGO_ENABLED=0,
// -trimpath): static, as released, and compiled as make dist and lint
// compile, so that the packages they put in the build cache are not
// compiled again for another set of flags.
func GoBuildReleased(env []string, out string, args ...string) ([]byte, error) {
	return GoBuild(append([]string{"CGO_ENABLED=0"}, env...), out, append([]string{"-trimpath"}, args...)...)
}

// TestVersion is the version Build stamps into binaries.
const TestVersion = "v0.0.0-test"

// BuildTool compiles a tool the project's go.mod pins (a `tool` line) into dir.
func BuildTool(dir, pkg string) error {
	if b, err := GoBuild(nil, filepath.Join(dir, filepath.Base(pkg)), pkg); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Result is what one process did.
type Result struct {
	Stdout, Stderr string
	// Code is the exit code; -1 when a signal ended the process.
	Code int
	// Signal is the signal that ended the process, if one did.
	Signal syscall.Signal
}

// Run runs bin with exactly env (name → value), stdin and args, and
// returns what it did. Only a failure to start it is an error.
func Run(bin string, env map[string]string, stdin string, args ...string) (Result, error) {
	cmd := exec.Command(bin, args...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return RunCmd(cmd, stdin)
}

// RunCmd runs cmd with stdin and collects what it did.
func RunCmd(cmd *exec.Cmd, stdin string) (Result, error) {
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errb.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Signal = ws.Signal()
		}
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
	if b, err := GoBuildReleased([]string{"GOOS=windows", "GOARCH=amd64"}, out,
		"-ldflags", "-X "+version.Symbol+"="+TestVersion, pkg); err != nil {
		return "", fmt.Errorf("go build %s for windows: %v\n%s", name, err, b)
	}
	return out, nil
}

// BuildUpstream compiles one of docker-credential-helpers' own helpers
// (pass, secretservice; the version go.mod pins) into dir as
// docker-credential-<name> and returns its path. secretservice links
// libsecret through cgo.
func BuildUpstream(dir, name string) (string, error) {
	out := filepath.Join(dir, "docker-credential-"+name)
	pkg := "github.com/docker/docker-credential-helpers/" + name + "/cmd"
	var b []byte
	var err error
	if name == "secretservice" { // cgo: the test binaries' flags, whose standard library is cached
		b, err = GoBuild([]string{"CGO_ENABLED=1"}, out, pkg)
	} else {
		b, err = GoBuildReleased(nil, out, pkg)
	}
	if err != nil {
		return "", fmt.Errorf("go build docker-credential-%s: %v (secretservice needs libsecret-1-dev)\n%s", name, err, b)
	}
	return out, nil
}
