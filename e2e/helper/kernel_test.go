package helper_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"

	"github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/regcred/regcred/testenv"
)

// inSession runs the helper as the env's user in another session keyring:
// a second SSH login, a tmux pane, a cron job.
func (e *env) inSession(session, stdin string, args ...string) result {
	e.t.Helper()
	cmd := e.user.Command(e.vars, session, helperBin(), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{out.String(), errb.String(), 0}
	if err != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}

// TestKernelKeyringSharedBySessions: what one login of a user stores, every
// other login of that user reads; another user sees nothing of it — not
// even the registry's name.
func TestKernelKeyringSharedBySessions(t *testing.T) {
	e := newEnvOn(t, "kernel")
	if r := e.inSession("ssh-1", storeJSON("shared.example", "alice", "s3cret"), "store"); r.code != 0 {
		t.Fatalf("store in the first session: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	r := e.inSession("tmux-2", "shared.example", "get")
	if r.code != 0 || r.stdout != `{"ServerURL":"shared.example","Username":"alice","Secret":"s3cret"}`+"\n" {
		t.Errorf("get in a second session: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := e.inSession("cron-3", "", "list"); r.stdout != `{"shared.example":"alice"}`+"\n" {
		t.Errorf("list in a third session: %q", r.stdout)
	}
	other := newEnvOn(t, "kernel")
	if r := other.run("shared.example", "get"); r.code != 1 || r.stdout != "credentials not found in native keychain\n" {
		t.Errorf("another user's get: exit %d %q", r.code, r.stdout)
	}
	if r := other.run("", "list"); r.stdout != "{}\n" {
		t.Errorf("another user's list: %q", r.stdout)
	}
	proc := other.user.Command(nil, launch.Login, "cat", "/proc/keys")
	out, err := proc.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "shared.example") || strings.Contains(string(out), keyring.Service) {
		t.Errorf("another user sees the key in /proc/keys:\n%s", out)
	}
	if r := e.inSession("ssh-1", "shared.example", "erase"); r.code != 0 {
		t.Fatalf("erase: %s", r.stdout)
	}
	if items, err := e.kr.Items(keyring.Service); err != nil || len(items) != 0 {
		t.Errorf("after erase the keyring holds %q (%v)", items, err)
	}
}

// TestKernelKeyringQuotaFull: a store past the user's kernel key quota
// fails with one line naming the setting, and loses nothing already stored
// — neither other registries nor the credential it would have replaced.
func TestKernelKeyringQuotaFull(t *testing.T) {
	e := newEnvOn(t, "kernel")
	q := keyring.KernelQuota()
	if os.Getuid() == 0 && q.MaxBytes == 0 {
		testenv.Unavailable(t, fmt.Errorf("no kernel key quota to read"))
	}
	stored := map[string]string{}
	var full result
	for i := 0; ; i++ {
		server, secret := fmt.Sprintf("q%03d.example", i), strings.Repeat(fmt.Sprint(i%10), 3000)
		r := e.run(storeJSON(server, "u", secret), "store")
		if r.code != 0 {
			full = r
			break
		}
		stored[server] = secret
		if i > 1000 {
			t.Fatal("1000 stores of 3 KB and the quota is not full")
		}
	}
	// The user's own numbers, named by their settings (a non-root user's limits).
	limit := func(name string) string {
		b, err := os.ReadFile("/proc/sys/kernel/keys/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	want := regexp.MustCompile(`the kernel keyring's quota for this user is full \(\d+ of ` + limit("maxkeys") + ` keys \(kernel\.keys\.maxkeys\), \d+ of ` +
		limit("maxbytes") + ` bytes \(kernel\.keys\.maxbytes\)\): erase credentials you no longer use, or raise it`)
	if full.code != 1 || !want.MatchString(full.stdout) || strings.Count(full.stdout, "\n") != 1 || full.stderr != "" {
		t.Fatalf("the store past the quota: exit %d %q %q; want one line matching %q", full.code, full.stdout, full.stderr, want)
	}
	if len(stored) < 2 {
		t.Fatalf("only %d stores fit: the quota check proves little", len(stored))
	}
	// Replacing a credential with a larger one past the quota keeps the old.
	var victim string
	for s := range stored {
		victim = s
		break
	}
	if r := e.run(storeJSON(victim, "u", strings.Repeat("x", 20000)), "store"); r.code != 1 || !want.MatchString(r.stdout) {
		t.Errorf("a larger replacement past the quota: exit %d %q", r.code, r.stdout)
	}
	for server, secret := range stored {
		var c struct{ Secret string }
		if r := e.run(server, "get"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil || c.Secret != secret {
			t.Errorf("%s after the quota filled: exit %d %.80q", server, r.code, r.stdout)
		}
	}
	if l := e.list(); len(l) != len(stored) {
		t.Errorf("list has %d entries, want the %d stored", len(l), len(stored))
	}
	d := e.run("", "doctor")
	if !strings.Contains(d.stdout, "(kernel.keys.maxkeys)") || !strings.Contains(d.stdout, "kernel.keys.persistent_keyring_expiry") {
		t.Errorf("doctor does not give the quota and the expiry:\n%s", d.stdout)
	}
}

// TestKernelKeyringForbiddenBySeccomp runs the helper in a container under
// Docker's default seccomp profile (from moby, the profile docker applies),
// which forbids keyctl: one line says so and what to do, exit 1. (Podman's
// default profile, in Debian 12, allows keyctl: the same run under it works.)
func TestKernelKeyringForbiddenBySeccomp(t *testing.T) {
	testenv.Require(t, "podman")
	dir := t.TempDir()
	profile := filepath.Join(dir, "docker-default.json")
	b, err := json.Marshal(seccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(profile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	u := testenv.NewKernelUser(t) // the container's user, and its keyring
	c, err := testenv.NewContainer(t, helperBin(), u.UID)
	if err != nil {
		testenv.Unavailable(t, err)
	}
	env := map[string]string{"REGCRED_BACKEND": "kernel", "HOME": "/tmp"}
	r, err := c.Run(env, "seccomp="+profile, "x.example", "get")
	if err != nil {
		t.Fatal(err)
	}
	// Allowing keyctl is advised only with a user namespace of the
	// container's own: without one, the keys are the host's.
	if r.Code != 1 || r.Stdout != "read x.example: "+keyring.ErrKeyctlForbidden.Error()+"\n" ||
		!strings.Contains(r.Stdout, "share this uid's keys with the host and every container of the same uid, unless the container has a user namespace of its own") {
		t.Errorf("get under docker's seccomp profile: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
	}
	if r, err := c.Run(env, "seccomp="+profile, "", "doctor"); err != nil || !strings.Contains(r.Stdout, "✗ kernel keyring answers: the kernel keyring cannot be used here") {
		t.Errorf("doctor under docker's seccomp profile: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	// A kernel with no keyctl at all (WSL 1, gVisor: ENOSYS) is not
	// called a seccomp refusal.
	var nokeyctl seccomp.Seccomp
	if err := json.Unmarshal(b, &nokeyctl); err != nil {
		t.Fatal(err)
	}
	enosys := uint(unix.ENOSYS)
	nokeyctl.Syscalls = append([]*seccomp.Syscall{{LinuxSyscall: specs.LinuxSyscall{
		Names: []string{"keyctl", "add_key", "request_key"}, Action: specs.ActErrno, ErrnoRet: &enosys}}}, nokeyctl.Syscalls...)
	nosys := filepath.Join(dir, "no-keyctl.json")
	if b, err = json.Marshal(nokeyctl); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nosys, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = c.Run(env, "seccomp="+nosys, "x.example", "get")
	if err != nil || r.Code != 1 || r.Stdout != "read x.example: "+keyring.ErrNoKeyctl.Error()+"\n" {
		t.Errorf("get on a kernel without keyctl: %v exit %d %q %q", err, r.Code, r.Stdout, r.Stderr)
	}
	// The same container under podman's own default profile: keyctl works.
	r, err = c.Run(env, "", "x.example", "get")
	if err != nil || r.Code != 1 || r.Stdout != "credentials not found in native keychain\n" {
		t.Errorf("get under podman's default profile: %v exit %d %q %q", err, r.Code, r.Stdout, r.Stderr)
	}
}

// TestBrokenConfigDir (the store issue's point 10): regcred's own directory
// is only where the keyring choice is recorded. With a file in its place,
// every verb works; with a root-owned one the user cannot read (left by
// `sudo -E`), every verb works when REGCRED_BACKEND names the keyring, and
// otherwise fails in one line that says what to fix — never by using
// another keyring than the one recorded there.
func TestBrokenConfigDir(t *testing.T) {
	protocol := func(t *testing.T, e *env) {
		t.Helper()
		e.mustStore("cfg.example", "u", "s")
		if r := e.run("cfg.example", "get"); r.code != 0 || !strings.Contains(r.stdout, `"Secret":"s"`) {
			t.Errorf("get: exit %d %q", r.code, r.stdout)
		}
		if l := e.list(); l["cfg.example"] != "u" {
			t.Errorf("list = %v", l)
		}
		if r := e.run("cfg.example", "erase"); r.code != 0 {
			t.Errorf("erase: exit %d %q", r.code, r.stdout)
		}
	}
	t.Run("a file in its place", func(t *testing.T) {
		e := newEnvOn(t, "kernel")
		delete(e.vars, "REGCRED_BACKEND") // nothing recorded, nothing can be: detected each time
		if err := os.WriteFile(filepath.Join(e.user.Home, ".config", "regcred"), []byte("not a directory"), 0o644); err != nil {
			t.Fatal(err)
		}
		protocol(t, e)
	})
	t.Run("root-owned and unreadable", func(t *testing.T) {
		e := newEnvOn(t, "kernel")
		dir := filepath.Join(e.user.Home, ".config", "regcred")
		if err := os.Mkdir(dir, 0o700); err != nil { // root's, as sudo -E leaves it
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"backend":"kernel"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		protocol(t, e) // REGCRED_BACKEND=kernel: the file is not needed
		delete(e.vars, "REGCRED_BACKEND")
		r := e.run("cfg.example", "get")
		want := "read " + filepath.Join(dir, "config.json") + ": open " + filepath.Join(dir, "config.json") + ": permission denied (make it and its directory yours, or remove them)\n"
		if r.code != 1 || r.stdout != want {
			t.Errorf("get with the recorded choice unreadable: exit %d %q, want %q", r.code, r.stdout, want)
		}
	})
}

// TestKernelKeyringNotLinkedIntoAnotherUsersSession: sudo without
// pam_keyinit (Debian's, Ubuntu's) hands the caller's session keyring to
// the user it runs as. A docker login run so must not link that user's
// keyring into the caller's session, where every process of the caller
// could read it; and a link an older regcred left there is taken away by
// the next command run so. The caller's processes find none of the
// secrets, before or after.
func TestKernelKeyringNotLinkedIntoAnotherUsersSession(t *testing.T) {
	alice := newEnvOn(t, "kernel")  // runs the helper through sudo
	bob := testenv.NewKernelUser(t) // whose session keyring sudo hands on
	dir := t.TempDir()
	stdin := filepath.Join(dir, "store.json")
	if err := os.WriteFile(stdin, []byte(storeJSON("sudo.example", "alice", "alice-s3cret")), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for k, v := range alice.vars {
		env = append(env, k+"="+v)
	}
	as := func(uid int) string { return fmt.Sprintf("setpriv --reuid %d --regid %d --clear-groups --", uid, uid) }
	// dump prints every payload bob's processes can read through the
	// keyrings his session keyring links to.
	dump := as(bob.UID) + ` sh -c 'for r in $(keyctl rlist @s); do for k in $(keyctl rlist $r 2>/dev/null); do keyctl print $k 2>/dev/null; done; done; echo dumped'`
	for _, tt := range []struct {
		name, before, helper string
	}{
		// A fresh sudo docker login.
		{"store", "true", "store < " + stdin},
		// An older regcred linked alice's keyring into bob's session; the
		// next command through sudo (a docker pull's get) takes it away.
		{"earlier link", fmt.Sprintf("keyctl get_persistent @s %d >/dev/null", alice.user.UID), "get <<< sudo.example >/dev/null"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			script := fmt.Sprintf("set -e; keyctl chown @s %d >/dev/null; %s; %s %s %s; %s",
				bob.UID, tt.before, as(alice.user.UID), helperBin(), tt.helper, dump)
			cmd := exec.Command("keyctl", "session", "-", "bash", "-c", script)
			cmd.Env, cmd.Dir = env, alice.user.Home
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.HasSuffix(string(out), "dumped\n") {
				t.Fatalf("%v\n%s", err, out)
			}
			if strings.Contains(string(out), "alice-s3cret") {
				t.Errorf("bob's processes read alice's secret through his session keyring:\n%s", out)
			}
		})
	}
	var c struct{ Secret string }
	if r := alice.run("sudo.example", "get"); r.code != 0 || json.Unmarshal([]byte(r.stdout), &c) != nil || c.Secret != "alice-s3cret" {
		t.Errorf("alice's own get: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}
