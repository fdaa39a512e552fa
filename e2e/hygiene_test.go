package e2e_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/internal/testenv"
)

// TestSecretHygiene runs the user-visible flows under strace and checks the
// secret never appears in the argv of any process started along the way,
// nor on stderr, nor in any file written in plaintext; and that the files
// regcred creates are 0600 in 0700 directories.
func TestSecretHygiene(t *testing.T) {
	testenv.Require(t, "strace")
	w := newWorld(t)
	trace := filepath.Join(t.TempDir(), "execve.log")
	traced := func(stdin string, args ...string) (string, int) {
		t.Helper()
		return w.exec(stdin, "strace", append([]string{"-f", "-qq", "-e", "trace=execve", "-s", "65535", "-xx", "-A", "-o", trace}, args...)...)
	}
	helper := filepath.Join(binDir, "docker-credential-regcred")
	var outputs []string
	steps := []struct {
		stdin string
		args  []string
	}{
		{password + "\n", []string{"docker", "login", w.registry.Host, "-u", user, "--password-stdin"}},
		{w.registry.Host, []string{helper, "get"}},
		{"", []string{helper, "list"}},
		{"", []string{helper, "ls"}},
		{"", []string{helper, "doctor"}},
		{"", []string{filepath.Join(binDir, "crane"), "auth", "get", w.registry.Host}},
		{storeJSON("other.example", "bob", password), []string{helper, "store"}},
		{storeJSON("other.example\n", "bob", password), []string{helper, "store"}}, // refused: no echo
		{"", []string{"docker", "logout", w.registry.Host}},
	}
	for _, s := range steps {
		out, _ := traced(s.stdin, s.args...)
		outputs = append(outputs, out)
	}
	log, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(log), "execve(") < len(steps) {
		t.Fatalf("strace recorded too little:\n%s", log)
	}
	// -xx prints every byte of every string as \xNN, so non-ASCII secrets
	// cannot hide behind strace's escaping.
	var hexSecret strings.Builder
	for _, c := range []byte(password) {
		fmt.Fprintf(&hexSecret, "\\x%02x", c)
	}
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, hexSecret.String()) {
			t.Errorf("a secret in argv: %.300s", l)
		}
	}
	// Output: only `get` (step 2) and `crane auth get` (step 6) may print it: they are asked for it.
	for i, out := range outputs {
		if i == 1 || i == 5 {
			continue
		}
		if strings.Contains(out, password) {
			t.Errorf("step %d %v printed the secret: %q", i, steps[i].args, out)
		}
	}
	if hits, _ := w.session.FilesContaining(password); len(hits) != 0 {
		t.Errorf("the secret is in plaintext in %v", hits)
	}
	regcredDir := filepath.Join(w.env["XDG_CONFIG_HOME"], "regcred")
	err = filepath.WalkDir(regcredDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func storeJSON(server, user, secret string) string {
	b, _ := json.Marshal(map[string]string{"ServerURL": server, "Username": user, "Secret": secret})
	return string(b)
}
