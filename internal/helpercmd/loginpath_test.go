//go:build loginpath

package helpercmd_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/regcred/regcred/internal/helpercmd"
	"github.com/regcred/regcred/testenv/launch"
)

// loginPathMarker marks where the traced command starts (tools/loginpath).
//
//go:noinline
func loginPathMarker() {}

// TestLoginPath is what tools/loginpath traces: docker login's store call,
// run as main runs it, on a private gnome-keyring — after a first command
// recorded the keyring choice, as every login but a user's first finds it.
func TestLoginPath(t *testing.T) {
	s, err := launch.StartProvider(t.TempDir(), launch.GnomeKeyring, launch.Unlocked)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	for k, v := range s.EnvMap() {
		t.Setenv(k, v) // godbus reads the bus address from the process
	}
	t.Setenv("REGCRED_BACKEND", "") // the recorded choice, not an override
	run := func(verb, stdin string) {
		t.Helper()
		var out, errb bytes.Buffer
		code := helpercmd.Run(context.Background(), []string{verb}, helpercmd.Env{
			Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: os.Getenv, LookPath: exec.LookPath,
		})
		if code != 0 {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", verb, code, out.String(), errb.String())
		}
	}
	run("list", "")
	loginPathMarker()
	run("store", `{"ServerURL":"registry.example.com","Username":"me","Secret":"s3cret"}`)
}
