package e2e_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv"
)

// TestSecretHygiene runs the user-visible flows under strace and checks the
// secret never appears in the argv of any process started along the way,
// nor on stderr, nor in any file written in plaintext; and that the files
// regcred creates are 0600 in 0700 directories.
func TestSecretHygiene(t *testing.T) {
	testenv.Require(t, "strace")
	w := newWorld(t)
	trace := filepath.Join(w.home, "execve.log") // where its user, who runs strace, can write
	traced := func(stdin string, args ...string) (string, int) {
		t.Helper()
		return w.exec(stdin, "strace", append([]string{"-f", "-qq", "-e", "trace=execve", "-s", "65535", "-xx", "-A", "-o", trace}, args...)...)
	}
	helper := filepath.Join(binDir, "docker-credential-regcred")
	var outputs []string
	steps := []struct {
		stdin string
		args  []string
		code  int // each step must end so: a step that failed would prove nothing
	}{
		{password + "\n", []string{"docker", "login", w.registry.Host, "-u", user, "--password-stdin"}, 0},
		{w.registry.Host, []string{helper, "get"}, 0},
		{"", []string{helper, "list"}, 0},
		{"", []string{helper, "ls"}, 0},
		{"", []string{helper, "doctor"}, 1}, // podman is installed and not wired here
		{"", []string{filepath.Join(binDir, "crane"), "auth", "get", w.registry.Host}, 0},
		{storeJSON("other.example", "bob", password), []string{helper, "store"}, 0},
		{storeJSON("other.example\n", "bob", password), []string{helper, "store"}, 1}, // refused: no echo
		{"", []string{"docker", "logout", w.registry.Host}, 0},
	}
	for i, s := range steps {
		out, code := traced(s.stdin, s.args...)
		if code != s.code {
			t.Errorf("step %d %v: exit %d, want %d\n%s", i, s.args, code, s.code, out)
		}
		outputs = append(outputs, out)
	}
	// The secret went through the helper: docker login stored it, get and
	// crane read it back, doctor read the keyring.
	for i, want := range map[int]string{1: `"Secret":"` + password + `"`, 5: `"Secret":"` + password + `"`, 4: "✓ keyring items in order"} {
		if !strings.Contains(outputs[i], want) {
			t.Errorf("step %d %v did not show %q: the secret did not pass where the test watches\n%s", i, steps[i].args, want, outputs[i])
		}
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
	testenv.NoPlaintext(t, w.kr, password)
	// What regcred itself creates: the writers' lock and its holder file,
	// in their directory (configure's state, in the config dir, is checked
	// where configure is tested).
	lock := filepath.Join(w.env["HOME"], ".cache", "regcred")
	err = filepath.WalkDir(lock, func(p string, d fs.DirEntry, err error) error {
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

// TestWritesAreDurable: every file regcred replaces — docker's config.json
// — is renamed into place and then its directory is fsynced,
// so the rename itself survives a power loss.
func TestWritesAreDurable(t *testing.T) {
	testenv.Require(t, "strace")
	w := newWorld(t)
	helper := filepath.Join(binDir, "docker-credential-regcred")
	trace := filepath.Join(w.home, "sync.log") // where its user, who runs strace, can write
	for _, step := range []struct {
		stdin, target string
		args          []string
	}{
		{"", "config.json", []string{helper, "configure", "--registries", "durable.example"}},
	} {
		args := append([]string{"-f", "-qq", "-e", "trace=execve,openat,rename,renameat,renameat2,fsync,fdatasync", "-o", trace}, step.args...)
		if out, code := w.exec(step.stdin, "strace", args...); code != 0 {
			t.Fatalf("%v: exit %d %s", step.args, code, out)
		}
		log, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(log), "execve("); n != 1 {
			t.Fatalf("%v: %d execve calls: the log is of more than one process\n%s", step.args, n, log)
		}
		if !renamedThenDirSynced(string(log), step.target) {
			t.Errorf("%v: no fsync of the directory after renaming %s into place:\n%s", step.args, step.target, log)
		}
	}
}

// renamedThenDirSynced reads an strace log and reports whether a rename
// onto a file named target was followed, in the same process, by an fsync
// of a descriptor opened on that file's directory.
func renamedThenDirSynced(log, target string) bool {
	// One state for the whole log, not one per strace PID: strace -f names
	// threads, and Go moves a goroutine to another thread between two
	// system calls (seen: the directory opened on one thread and fsynced
	// on the next, after a preemption signal). The traced command is one
	// process (the caller checks that it execs nothing).
	var dir string               // set once the rename happened
	openFDs := map[string]int{}  // directory → fd, opened after the rename
	split := map[string]string{} // PID → the start of a call strace split
	for _, line := range strings.Split(log, "\n") {
		pid, call, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		call = strings.TrimSpace(call)
		// A call another thread's interrupted is logged in two lines:
		// "openat(…, O_CLOEXEC <unfinished ...>", then
		// "<... openat resumed>) = 5". Join them.
		if start, ok := strings.CutSuffix(call, " <unfinished ...>"); ok {
			split[pid] = start
			continue
		}
		if _, end, ok := strings.Cut(call, " resumed>"); ok && strings.HasPrefix(call, "<... ") {
			call = split[pid] + end
			delete(split, pid)
		}
		switch {
		case strings.HasPrefix(call, "rename") && strings.Contains(call, "/"+target+"\"") && strings.HasSuffix(call, "= 0"):
			fields := strings.Split(call, "\"")
			if len(fields) >= 4 {
				dir = filepath.Dir(fields[3])
			}
		case dir != "" && strings.HasPrefix(call, "openat(") && strings.Contains(call, "\""+dir+"\""):
			var fd int
			if _, err := fmt.Sscanf(call[strings.LastIndex(call, "=")+1:], "%d", &fd); err == nil {
				openFDs[dir] = fd
			}
		case dir != "" && strings.HasPrefix(call, "fsync("):
			if fd, ok := openFDs[dir]; ok && strings.HasPrefix(call, fmt.Sprintf("fsync(%d)", fd)) {
				return true
			}
		}
	}
	return false
}

// TestRenamedThenDirSynced: the strace reading, on logs cut from real runs —
// including the directory opened on one thread and fsynced on another.
func TestRenamedThenDirSynced(t *testing.T) {
	const rename = "1578  renameat(AT_FDCWD, \"/h/.docker/.config.json.1.tmp\", AT_FDCWD, \"/h/.docker/config.json\") = 0\n"
	const open = "1578  openat(AT_FDCWD, \"/h/.docker\", O_RDONLY|O_CLOEXEC) = 5\n"
	for _, tc := range []struct {
		name, log string
		want      bool
	}{
		{"one thread", rename + open + "1578  fsync(5)                          = 0\n", true},
		{"fsync on another thread", rename + open + "1578  --- SIGURG {si_signo=SIGURG} ---\n1581  fsync(5)                          = 0\n", true},
		{"open split by another thread's call", rename +
			"6222  openat(AT_FDCWD, \"/h/.docker\", O_RDONLY|O_CLOEXEC <unfinished ...>\n" +
			"6217  --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=6217, si_uid=2409172} ---\n" +
			"6222  <... openat resumed>)             = 5\n" +
			"6222  fsync(5)                          = 0\n", true},
		{"no fsync", rename + open, false},
		{"fsync of another descriptor", rename + open + "1578  fsync(6)                          = 0\n", false},
		{"fsync before the rename", open + "1578  fsync(5)                          = 0\n" + rename, false},
		{"failed rename", strings.Replace(rename, "= 0", "= -1 EXDEV", 1) + open + "1578  fsync(5)                          = 0\n", false},
	} {
		if got := renamedThenDirSynced(tc.log, "config.json"); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
