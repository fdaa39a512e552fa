// Package testenv is the test helpers proper, over package launch: what a
// test does when a component is missing (skip it, or under CI=true fail:
// Require, Unavailable), starting components for one test and stopping
// them when it ends (StartSessionT, NewKernelUser, StartRegistry, …), the
// TestMain bodies of the black-box suites (MainWithBinaries, which run
// only when E2E says so), and checks such as NoPlaintext.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI, where nothing may be
// skipped: CI set to anything but "", "0" or "false" (CI systems say
// "true", "1" or their own name).
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// Require skips the test when a program is missing, or fails it under CI.
func Require(tb testing.TB, programs ...string) {
	tb.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			hint := "run `make deps` as root, or install it"
			if p == "kubectl" {
				hint = "`make test` puts the one scripts/k8s-tools.sh builds first on PATH"
			}
			Unavailable(tb, fmt.Errorf("%s not found on PATH (%s)", p, hint))
		}
	}
}

// Unavailable reports that a real component could not be had: a failure
// under CI, a skip elsewhere.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("required component unavailable under CI=true: %v", err)
	}
	tb.Skipf("component unavailable: %v", err)
}
