package helpercmd_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/regcred/regcred/internal/helpercmd"
)

// TestRouting: protocol verbs go to the helper, management commands and
// help to manage, and only what needs the keyring opens it — here the
// keyring cannot be opened at all (a bad REGCRED_TIMEOUT), so a command
// that tried would fail with that line.
func TestRouting(t *testing.T) {
	const openErr = "REGCRED_TIMEOUT=\"soon\": want a positive Go duration such as 30s\n"
	tests := []struct {
		args           []string
		code           int
		stdout, stderr string // substrings; stdout "" means empty
	}{
		{[]string{"version"}, 0, "docker-credential-regcred (github.com/regcred/regcred) ", ""},
		{[]string{"help"}, 0, "Usage: docker-credential-regcred <store|get|erase|list|version>\n\n", ""},
		{[]string{"help", "doctor"}, 0, "doctor", ""},
		{[]string{"get"}, 1, openErr, ""},
		{[]string{"list"}, 1, openErr, ""},
		{[]string{"ls"}, 1, "", "docker-credential-regcred ls: " + openErr},
		{[]string{"frobnicate"}, 1, "unknown action: frobnicate", ""},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := helpercmd.Run(context.Background(), tt.args, helpercmd.Env{
			Stdin: strings.NewReader("ghcr.io"), Stdout: &out, Stderr: &errb,
			Getenv: func(k string) string {
				if k == "REGCRED_TIMEOUT" {
					return "soon"
				}
				return ""
			},
			LookPath: exec.LookPath,
		})
		if code != tt.code || !strings.Contains(out.String(), tt.stdout) || (tt.stdout == "" && out.Len() > 0) ||
			!strings.Contains(errb.String(), tt.stderr) || (tt.stderr == "" && errb.Len() > 0) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %d, stdout holding %q, stderr holding %q", tt.args, code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}
