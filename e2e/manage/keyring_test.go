package manage_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

// desktop is a throw-away user on a desktop: a gnome-keyring on its
// session bus, and its own kernel keyring, both reachable by the helper,
// which runs as that user with nothing recorded and no REGCRED_BACKEND.
type desktop struct {
	t       *testing.T
	session *launch.Session
	user    *launch.KernelUser
	vars    map[string]string
	bin     string
}

func newDesktop(t *testing.T) *desktop {
	t.Helper()
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, launch.GnomeKeyring, launch.Unlocked, u)
	d := &desktop{t: t, session: s, user: u, vars: u.Env()}
	delete(d.vars, "REGCRED_BACKEND")
	d.vars["DBUS_SESSION_BUS_ADDRESS"] = s.Address
	d.vars["PATH"] = binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	var err error
	if d.bin, err = u.Wrap(filepath.Join(binDir, "docker-credential-regcred")); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *desktop) run(stdin string, args ...string) launch.Result {
	d.t.Helper()
	r, err := launch.Run(d.bin, d.vars, stdin, args...)
	if err != nil {
		d.t.Fatal(err)
	}
	return r
}

// recorded is the keyring regcred's config file names.
func (d *desktop) recorded() string {
	d.t.Helper()
	b, err := os.ReadFile(filepath.Join(d.vars["XDG_CONFIG_HOME"], "regcred", "config.json"))
	if err != nil {
		return ""
	}
	var c struct{ Backend string }
	if err := json.Unmarshal(b, &c); err != nil {
		d.t.Fatalf("config.json: %v: %s", err, b)
	}
	return c.Backend
}

// TestKeyringChoiceNeverChangesSilently: the first command on a desktop
// picks the Secret Service and records it; a later command reached over
// SSH — no session bus — still uses it (and says why it fails), instead of
// splitting the user's credentials over two keyrings.
func TestKeyringChoiceNeverChangesSilently(t *testing.T) {
	d := newDesktop(t)
	if r := d.run(`{"ServerURL":"desk.example","Username":"u","Secret":"s"}`, "store"); r.Code != 0 {
		t.Fatalf("store on the desktop: %d %s", r.Code, r.Stdout)
	}
	if got := d.recorded(); got != "secret-service" {
		t.Fatalf("recorded %q after the first store on a desktop, want secret-service", got)
	}
	if items, _ := d.session.Items(keyring.Service); !slices.Equal(items, []string{"desk.example"}) {
		t.Errorf("the Secret Service holds %q", items)
	}
	ssh := maps.Clone(d.vars)
	delete(ssh, "DBUS_SESSION_BUS_ADDRESS")
	r, err := launch.Run(d.bin, ssh, "desk.example", "get")
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 1 || !strings.Contains(r.Stdout, "no D-Bus session bus") {
		t.Errorf("get over SSH: exit %d %q; want the Secret Service's own error, not another keyring", r.Code, r.Stdout)
	}
	r, _ = launch.Run(d.bin, ssh, "", "doctor")
	if !strings.Contains(r.Stdout, "✓ keyring chosen: Secret Service (recorded in "+filepath.Join(d.vars["XDG_CONFIG_HOME"], "regcred", "config.json")+": a Secret Service answered)") {
		t.Errorf("doctor over SSH does not name the recorded keyring:\n%s", r.Stdout)
	}
	if items, _ := d.user.Items(keyring.Service); len(items) != 0 {
		t.Errorf("the kernel keyring was used: %q", items)
	}
	// REGCRED_BACKEND overrides it for one process, and records nothing.
	ssh["REGCRED_BACKEND"] = "kernel"
	if r, _ := launch.Run(d.bin, ssh, "", "list"); r.Code != 0 || r.Stdout != "{}\n" {
		t.Errorf("list with REGCRED_BACKEND=kernel: %d %q", r.Code, r.Stdout)
	}
	ssh["REGCRED_BACKEND"] = "pass"
	if r, _ := launch.Run(d.bin, ssh, "", "list"); r.Code != 1 || r.Stdout != "REGCRED_BACKEND=pass: no keyring \"pass\" here: choose secret-service or kernel\n" {
		t.Errorf("list with REGCRED_BACKEND=pass: %d %q", r.Code, r.Stdout)
	}
	if got := d.recorded(); got != "secret-service" {
		t.Errorf("recorded %q after overrides, want secret-service still", got)
	}
}

// TestConfigureBackendMovesCredentials: configure --backend kernel moves
// every credential out of the Secret Service, losing nothing; a switch to
// a keyring that does not answer changes nothing; --no-move switches alone.
func TestConfigureBackendMovesCredentials(t *testing.T) {
	d := newDesktop(t)
	creds := map[string]credentials.Credentials{}
	for _, c := range []credentials.Credentials{
		{ServerURL: "https://index.docker.io/v1/", Username: "hub", Secret: "h"},
		{ServerURL: "Reg.Example:5000", Username: "alice", Secret: strings.Repeat("€", 2000)},
		{ServerURL: "ghcr.io", Username: "bob", Secret: "g"},
	} {
		if err := client.Store(client.NewShellProgramFuncWithEnv(d.bin, &d.vars), &c); err != nil {
			t.Fatal(err)
		}
		creds[c.ServerURL] = c
	}
	if got := d.recorded(); got != "secret-service" {
		t.Fatalf("recorded %q, want secret-service", got)
	}
	r := d.run("", "configure", "--tools", "docker", "--backend", "kernel")
	if r.Code != 0 || !strings.Contains(r.Stdout, "moved 3 credential(s) from the Secret Service to the kernel keyring") {
		t.Fatalf("configure --backend kernel: %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := d.recorded(); got != "kernel" {
		t.Errorf("recorded %q after the move, want kernel", got)
	}
	if items, _ := d.session.Items(keyring.Service); len(items) != 0 {
		t.Errorf("the Secret Service still holds %q", items)
	}
	if items, _ := d.user.Items(keyring.Service); len(items) != 3 {
		t.Errorf("the kernel keyring holds %q, want 3 credentials", items)
	}
	for server, c := range creds {
		got, err := client.Get(client.NewShellProgramFuncWithEnv(d.bin, &d.vars), server)
		if err != nil || *got != c {
			t.Errorf("get %s after the move: %v", server, err)
		}
	}
	// Back to a Secret Service that is not there: refused, nothing changes.
	gone := maps.Clone(d.vars)
	gone["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"
	r, _ = launch.Run(d.bin, gone, "", "configure", "--tools", "docker", "--backend", "secret-service")
	if r.Code != 1 || !strings.Contains(r.Stderr, "the kernel keyring still holds every credential") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("configure to an absent Secret Service: %d %q", r.Code, r.Stderr)
	}
	if got := d.recorded(); got != "kernel" {
		t.Errorf("recorded %q after a refused switch, want kernel", got)
	}
	if items, _ := d.user.Items(keyring.Service); len(items) != 3 {
		t.Errorf("after a refused switch the kernel keyring holds %q", items)
	}
	// --no-move switches and leaves them where they are.
	r = d.run("", "configure", "--tools", "docker", "--backend", "secret-service", "--no-move")
	if r.Code != 0 || !strings.Contains(r.Stdout, "those in the kernel stay there (--no-move)") || d.recorded() != "secret-service" {
		t.Errorf("--no-move: %d %q, recorded %q", r.Code, r.Stdout, d.recorded())
	}
	if l, err := client.List(client.NewShellProgramFuncWithEnv(d.bin, &d.vars)); err != nil || len(l) != 0 {
		t.Errorf("list after --no-move = %v, %v; want the Secret Service's (empty)", l, err)
	}
	if items, _ := d.user.Items(keyring.Service); len(items) != 3 {
		t.Errorf("--no-move changed the kernel keyring: %q", items)
	}
	if r := d.run("", "configure", "--tools", "docker", "--backend", "kernel", "--no-move"); r.Code != 0 {
		t.Errorf("back to the kernel keyring: %d %s", r.Code, r.Stderr)
	}
	if r := d.run("", "configure", "--backend", "pass"); r.Code != 1 || r.Stderr != "docker-credential-regcred configure: no keyring \"pass\" here: choose secret-service or kernel\n" {
		t.Errorf("configure --backend pass: %d %q", r.Code, r.Stderr)
	}
}
