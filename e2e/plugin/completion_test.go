package plugin_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompletionIsThePluginsOwn: a script registered for "kubectl" would
// replace kubectl's own completion in the user's shell.
func TestCompletionIsThePluginsOwn(t *testing.T) {
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, err := exec.Command(filepath.Join(binDir, "kubectl-regcred"), "completion", sh).Output()
		if err != nil || !strings.Contains(string(out), "kubectl-regcred") {
			t.Errorf("completion %s: %v", sh, err)
		}
		if strings.Contains(string(out), "__start_kubectl()") || strings.Contains(string(out), "complete -c kubectl ") {
			t.Errorf("completion %s registers for kubectl itself", sh)
		}
	}
	out, _ := exec.Command(filepath.Join(binDir, "kubectl-regcred"), "--help").Output()
	if !strings.Contains(string(out), "kubectl regcred [command]") {
		t.Errorf("help does not say kubectl regcred:\n%s", out)
	}
}
