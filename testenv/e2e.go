package testenv

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/regcred/regcred/testenv/launch"
)

// EnvE2E names the variable that turns the black-box suites on (1) or off
// (0): the packages under e2e/ and the demo's test, which build the
// binaries and start real components (clusters, a node, Wine, the
// release). Unset, CI=true turns them on.
const EnvE2E = "REGCRED_E2E"

// E2E reports whether the black-box suites run: REGCRED_E2E=1, or CI
// unless REGCRED_E2E=0 (make ci's in-process phase). Without it `make
// test` still compiles them (vet, staticcheck and gopls read them) but
// runs none.
func E2E() bool {
	switch os.Getenv(EnvE2E) {
	case "1":
		return true
	case "0":
		return false
	}
	return InCI()
}

// gate runs main when the black-box suites are on, and otherwise says on
// stderr how to run them and runs nothing.
func gate(main func() int) int {
	if !E2E() {
		fmt.Fprintf(os.Stderr, "black-box suite not run: set %s=1 (make ci or make e2e runs it)\n", EnvE2E)
		return 0
	}
	return main()
}

// MainE2E is the TestMain body of a black-box suite that needs nothing
// built first: it runs the tests only when E2E says so.
func MainE2E(m interface{ Run() int }) int { return gate(m.Run) }

// MainWithBinaries is the TestMain body of a black-box suite: when E2E
// says so, it builds the named commands (a name under cmd/, or a full
// package path for a tool go.mod pins, or "upstream:pass" for one of
// docker-credential-helpers' own helpers) into a fresh directory, stores its
// path in *dir, runs the tests, removes it and returns the exit code for
// os.Exit.
func MainWithBinaries(m interface{ Run() int }, dir *string, names ...string) int {
	return gate(func() int { return mainWithBinaries(m, dir, names...) })
}

func mainWithBinaries(m interface{ Run() int }, dir *string, names ...string) int {
	d, err := os.MkdirTemp("", "regcred-bin-")
	if err == nil {
		err = os.Chmod(d, 0o755) // throw-away users run them too (see launch.KernelUser)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(d)
	for _, n := range names {
		var err error
		switch {
		case strings.HasPrefix(n, "upstream:"):
			_, err = launch.BuildUpstream(d, strings.TrimPrefix(n, "upstream:"))
		case strings.Contains(n, "/"):
			err = launch.BuildTool(d, n)
		default:
			_, err = launch.Build(d, n)
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
	runtime.LockOSThread() // the process keyring's link is this thread's
	defer runtime.UnlockOSThread()
	ring, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
	if err != nil {
		return nil, nil // no persistent keyrings here: none to leak into
	}
	ids, err := launch.ReadKey(ring)
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

// MainInNamespace is the TestMain body of a black-box suite that runs a
// Node (see launch.InNamespace), when E2E says so.
func MainInNamespace(m interface{ Run() int }) int {
	return gate(func() int { return launch.InNamespace(m.Run) })
}
