package plugin_test

import (
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"
)

// TestHelpInKubectlStyle: help and --help for every command give a
// description and examples; kubectl's connection flags stay out of the way,
// listed by `kubectl regcred options` as `kubectl options` lists them.
func TestHelpInKubectlStyle(t *testing.T) {
	k := &kenv{t: t, vars: map[string]string{"HOME": t.TempDir()}}
	for _, cmd := range []string{"", "export", "delete", "inspect", "verify", "options", "completion"} {
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}, {cmd, "-h"}} {
			args = strings.Fields(strings.Join(args, " "))
			r := k.plugin(args...)
			if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Examples:\n  # ") || !strings.Contains(r.stdout, "kubectl regcred "+cmd) {
				t.Errorf("%v: exit %d stderr %q stdout:\n%s", args, r.code, r.stderr, r.stdout)
			}
			for _, hidden := range []string{"--kubeconfig", "--server", "--token", "--certificate-authority"} {
				if strings.Contains(r.stdout, hidden) {
					t.Errorf("%v lists the connection flag %s", args, hidden)
				}
			}
			if cmd != "options" && !strings.Contains(r.stdout, `Use "kubectl regcred options" for a list of global command-line options`) {
				t.Errorf("%v does not say where the connection flags are", args)
			}
		}
	}
	r := k.plugin("options")
	for _, flag := range []string{"--kubeconfig string", "--server string", "--token string", "--request-timeout string"} {
		if r.code != 0 || !strings.Contains(r.stdout, flag) {
			t.Errorf("options lacks %q:\n%s", flag, r.stdout)
		}
	}
	if r := k.plugin("--kubeconfig", "/nonexistent", "export", "--dry-run=client", "--help"); r.code != 0 {
		t.Errorf("a hidden connection flag is no longer accepted: %s", r.stderr)
	}
}

// TestVersionCommand: `kubectl regcred version` and --version print the
// version the build stamped, in one line.
func TestVersionCommand(t *testing.T) {
	k := &kenv{t: t, vars: map[string]string{"HOME": t.TempDir()}}
	want := "kubectl regcred version " + launch.TestVersion + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if r := k.plugin(args...); r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("%v: exit %d stdout %q stderr %q; want %q", args, r.code, r.stdout, r.stderr, want)
		}
	}
}
