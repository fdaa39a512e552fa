package manage_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

var binDir string

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithBinaries(m, &binDir, "docker-credential-regcred"))
}

// env is one user's session: a private bus (with gnome-keyring, unless
// the mode says not) and the helper, both run as a throw-away user, as
// people run them; what the test writes into the session's HOME is given
// to that user before each command.
type env struct {
	t       *testing.T
	session *launch.Session
	user    *launch.KernelUser // whom the commands run as; nil: the test's user
	vars    map[string]string
	docker  string // DOCKER_CONFIG
	bin     string // the helper, as user runs it
}

func newEnv(t *testing.T, mode launch.KeyringMode) *env {
	t.Helper()
	return newEnvOf(t, launch.GnomeKeyring, mode)
}

// newEnvOf is an env on provider, set up as mode says.
func newEnvOf(t *testing.T, provider launch.Provider, mode launch.KeyringMode) *env {
	t.Helper()
	u := testenv.NewKernelUser(t)
	s := testenv.StartProviderAsT(t, provider, mode, u)
	e := &env{t: t, session: s, user: u, vars: s.EnvMap(), docker: filepath.Join(s.Dir, ".docker")}
	e.vars["DOCKER_CONFIG"] = e.docker
	e.vars["PATH"] = binDir + string(os.PathListSeparator) + e.vars["PATH"]
	e.bin = testenv.Wrap(e.t, e.user, helperBin())
	return e
}

// helperBin is the built helper.
func helperBin() string { return filepath.Join(binDir, "docker-credential-regcred") }

// own gives what the test wrote into the session's HOME to its user.
func (e *env) own() {
	e.t.Helper()
	if e.user != nil {
		if err := e.user.Own(e.session.Dir); err != nil {
			e.t.Fatal(err)
		}
	}
}

// command is name run with args as the env's user, in its environment.
func (e *env) command(name string, args ...string) *exec.Cmd {
	e.own()
	return e.user.Command(e.vars, launch.Login, name, args...)
}

type result struct {
	stdout, stderr string
	code           int
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	e.own()
	r, err := launch.Run(e.bin, e.vars, "", args...)
	if err != nil {
		e.t.Fatal(err)
	}
	return result{r.Stdout, r.Stderr, r.Code}
}

// program drives bin (the helper, unless named) through docker's client
// package, as the env's user.
func (e *env) program(bin ...string) client.ProgramFunc {
	b := e.bin
	if len(bin) > 0 {
		b = testenv.Wrap(e.t, e.user, bin[0])
	}
	p := client.NewShellProgramFuncWithEnv(b, &e.vars)
	return func(args ...string) client.Program {
		e.own()
		return p(args...)
	}
}

func (e *env) writeConfig(content string, mode os.FileMode) string {
	e.t.Helper()
	if err := os.MkdirAll(e.docker, 0o700); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.docker, "config.json")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return m
}

const otherFields = `"experimental": "enabled", "stackOrchestrator": "swarm", "x-tool": {"nested": [1, 2]}, "psFormat": "table {{.ID}}"`

func TestConfigure(t *testing.T) {
	e := newEnv(t, launch.BusOnly) // configure needs no keyring
	p := e.writeConfig(`{`+otherFields+`, "credsStore": "desktop", "auths": {"r.example": {}}}`, 0o640)

	r := e.run("configure")
	if r.code != 0 || !strings.Contains(r.stdout, `"credsStore": "regcred"`) || !strings.Contains(r.stderr, `replacing credsStore "desktop"`) {
		t.Fatalf("configure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	got := readJSON(t, p)
	if got["credsStore"] != "regcred" || got["experimental"] != "enabled" || got["stackOrchestrator"] != "swarm" || got["psFormat"] != "table {{.ID}}" {
		t.Errorf("configure lost or missed fields: %v", got)
	}
	if x, _ := json.Marshal(got["x-tool"]); string(x) != `{"nested":[1,2]}` {
		t.Errorf("nested unknown field = %s", x)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's 0640 kept", fi.Mode().Perm())
	}
	if b := readJSON(t, p+".regcred-backup"); b["credsStore"] != "desktop" {
		t.Errorf("backup holds %v", b)
	}
	if fi, err := os.Stat(p + ".regcred-backup"); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(e.user.UID) {
		t.Errorf("the backup is not the user's (configure ran as someone else): %v", err)
	}
	before, _ := os.ReadFile(p)
	if r := e.run("configure"); r.code != 0 || !strings.Contains(r.stdout, "nothing changed") {
		t.Errorf("second configure: exit %d %s", r.code, r.stdout)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("second configure rewrote the file")
	}
	if r := e.run("configure", "--undo"); r.code != 0 || readJSON(t, p)["credsStore"] != "desktop" {
		t.Errorf("configure --undo: exit %d %s %v", r.code, r.stderr, readJSON(t, p)["credsStore"])
	}
}

func TestConfigureNewFileSymlinkRegistriesAndPath(t *testing.T) {
	e := newEnv(t, launch.BusOnly)
	// A new file is 0600.
	if r := e.run("configure"); r.code != 0 {
		t.Fatalf("configure without config.json: %s", r.stderr)
	}
	p := filepath.Join(e.docker, "config.json")
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new config.json: %v, %v", fi, err)
	}

	// A symlinked config.json stays a symlink; its target is updated.
	os.Remove(p)
	real := filepath.Join(e.session.Dir, "dotfiles", "docker.json")
	os.MkdirAll(filepath.Dir(real), 0o700)
	os.WriteFile(real, []byte(`{"auths":{}}`), 0o600)
	if err := os.Symlink(real, p); err != nil {
		t.Fatal(err)
	}
	if r := e.run("configure", "--registries", "ghcr.io, 123.dkr.ecr.us-east-1.amazonaws.com"); r.code != 0 {
		t.Fatalf("configure --registries: %s", r.stderr)
	}
	if fi, _ := os.Lstat(p); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("config.json is no longer a symlink")
	}
	helpers, _ := readJSON(t, real)["credHelpers"].(map[string]any)
	if helpers["ghcr.io"] != "regcred" || helpers["123.dkr.ecr.us-east-1.amazonaws.com"] != "regcred" || readJSON(t, real)["credsStore"] != nil {
		t.Errorf("credHelpers = %v", readJSON(t, real))
	}

	// Not on PATH: refuse, change nothing.
	before, _ := os.ReadFile(real)
	e.vars["PATH"] = "/usr/bin:/bin"
	if r := e.run("configure"); r.code == 0 || !strings.Contains(r.stderr, "not on PATH") {
		t.Errorf("configure off PATH: exit %d %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(real); !bytes.Equal(before, after) {
		t.Error("a refused configure changed the file")
	}
}

// TestDockerCLIConfigFileDropsUnknownFields is why configure edits the JSON
// itself rather than through docker/cli's configfile package: its Save
// drops every field its struct does not know.
func TestDockerCLIConfigFileDropsUnknownFields(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(p, []byte(`{`+otherFields+`}`), 0o600)
	cf := configfile.New(p)
	f, _ := os.Open(p)
	if err := cf.LoadFromReader(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cf.CredentialsStore = "regcred"
	if err := cf.Save(); err != nil {
		t.Fatal(err)
	}
	got := readJSON(t, p)
	for _, field := range []string{"stackOrchestrator", "x-tool", "experimental"} {
		if _, kept := got[field]; kept {
			t.Errorf("docker/cli's configfile now keeps %q: configure could use it instead of editing JSON", field)
		}
	}
}

func TestImportFromConfig(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	const cfg = `{
	"auths": {
		"a.example": {"auth": "YWxpY2U6cGE6c3N3MHJk"},
		"b.example:5000": {"username": "bob", "password": "b0bsecret"},
		"https://index.docker.io/v1/": {"auth": "aHViOg==", "identitytoken": "id-token-xyz"},
		"empty.example": {}
	},
	` + otherFields + `
}`
	p := e.writeConfig(cfg, 0o600)
	r := e.run("import", "--from-config")
	if r.code != 0 || !strings.Contains(r.stdout, "moved 3 credential(s)") {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for server, want := range map[string][2]string{
		"a.example":                   {"alice", "pa:ssw0rd"},
		"b.example:5000":              {"bob", "b0bsecret"},
		"https://index.docker.io/v1/": {"<token>", "id-token-xyz"},
	} {
		c, err := client.Get(e.program(), server)
		if err != nil || c.Username != want[0] || c.Secret != want[1] {
			t.Errorf("keyring %s = %+v, %v", server, c, err)
		}
	}
	data, _ := os.ReadFile(p)
	for _, secret := range []string{"YWxpY2U6cGE6c3N3MHJk", "b0bsecret", "id-token-xyz", "pa:ssw0rd", `"auth"`} {
		if strings.Contains(string(data), secret) {
			t.Errorf("config.json still holds %q:\n%s", secret, data)
		}
	}
	got := readJSON(t, p)
	auths, _ := got["auths"].(map[string]any)
	if len(auths) != 4 || got["stackOrchestrator"] != "swarm" {
		t.Errorf("after import config.json = %s", data)
	}
	for server, v := range auths {
		if m, _ := v.(map[string]any); len(m) != 0 {
			t.Errorf("auths[%s] = %v, want {}", server, m)
		}
	}
	if _, err := os.Stat(p + ".regcred-backup"); err == nil {
		t.Error("import left a backup (which would keep the secrets)")
	}
	if r := e.run("import", "--from-config"); r.code != 0 || !strings.Contains(r.stdout, "nothing to import") {
		t.Errorf("second import: %s", r.stdout)
	}
}

// TestNoPlaintextLeftInDockerDir: configure on a config.json holding
// plaintext credentials, then import --from-config: no file in the docker
// config directory holds a secret any more — the backup included, and a
// backup an earlier regcred wrote with the secrets in it.
func TestNoPlaintextLeftInDockerDir(t *testing.T) {
	for _, oldBackup := range []bool{false, true} {
		t.Run(fmt.Sprintf("old backup %v", oldBackup), func(t *testing.T) {
			e := newEnv(t, launch.Unlocked)
			cfg := `{"auths": {"a.example": {"auth": "YWxpY2U6czNjcmV0LWE="}, "b.example": {"username": "bob", "password": "s3cret-b"}, "c.example": {}}, ` + otherFields + `}`
			p := e.writeConfig(cfg, 0o600)
			if oldBackup {
				if err := os.WriteFile(p+".regcred-backup", []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if r := e.run("configure"); r.code != 0 {
				t.Fatalf("configure: %d %s", r.code, r.stderr)
			}
			if b := readJSON(t, p+".regcred-backup"); b["stackOrchestrator"] != "swarm" {
				t.Errorf("the backup lost the other fields: %v", b)
			}
			if r := e.run("import", "--from-config"); r.code != 0 || !strings.Contains(r.stdout, "moved 2") {
				t.Fatalf("import: %d %s %s", r.code, r.stdout, r.stderr)
			}
			entries, err := os.ReadDir(e.docker)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range entries {
				data, _ := os.ReadFile(filepath.Join(e.docker, f.Name()))
				for _, secret := range []string{"YWxpY2U6czNjcmV0LWE=", "s3cret-a", "s3cret-b"} {
					if strings.Contains(string(data), secret) {
						t.Errorf("%s still holds %q", f.Name(), secret)
					}
				}
			}
		})
	}
}

// TestImportDuplicateKeys: two keys naming one registry. The one docker
// uses is imported and scrubbed; the other stays in the file, named on one
// line with the one that won.
func TestImportDuplicateKeys(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	p := e.writeConfig(`{"auths": {
		"docker.io": {"auth": "c2hhZG93OnNoYWRvdy1wdw=="},
		"https://index.docker.io/v1/": {"auth": "aHViOmh1Yi1wdw=="},
		"https://r.example/": {"auth": "cjE6cjEtcHc="},
		"r.example": {"auth": "cjI6cjItcHc="}
	}}`, 0o600)
	r := e.run("import", "--from-config")
	if r.code != 0 || !strings.Contains(r.stdout, "moved 2 credential(s)") {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"skipped docker.io in " + p + ": https://index.docker.io/v1/ names the same registry",
		"skipped https://r.example/ in " + p + ": r.example names the same registry",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if n := strings.Count(r.stderr, "\n"); n != 2 {
		t.Errorf("want one line per skipped key, got %d:\n%s", n, r.stderr)
	}
	for server, want := range map[string]string{"docker.io": "hub", "r.example": "r2"} {
		if c, err := client.Get(e.program(), server); err != nil || c.Username != want {
			t.Errorf("keyring %s = %+v, %v; want %s", server, c, err, want)
		}
	}
	auths, _ := readJSON(t, p)["auths"].(map[string]any)
	for key, keep := range map[string]bool{"docker.io": true, "https://index.docker.io/v1/": false, "https://r.example/": true, "r.example": false} {
		m, _ := auths[key].(map[string]any)
		if has := m["auth"] != nil; has != keep {
			t.Errorf("auths[%s] = %v; want its secret kept: %v", key, m, keep)
		}
	}
}

func TestImportFromConfigKeepsFileOnFailure(t *testing.T) {
	e := newEnv(t, launch.BusOnly) // no Secret Service: every keyring write fails
	p := e.writeConfig(`{"auths": {"a.example": {"auth": "YWxpY2U6cHc="}}}`, 0o600)
	before, _ := os.ReadFile(p)
	r := e.run("import", "--from-config")
	if r.code == 0 || !strings.Contains(r.stderr, "no Secret Service provider") || !strings.Contains(r.stderr, "unchanged") {
		t.Errorf("import with no keyring: exit %d %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("a failed import changed config.json")
	}
	e.session.Stop()
	e2 := newEnv(t, launch.Unlocked)
	p = e2.writeConfig(`{"auths": {"a.example": {"auth": "YWxpY2U6cHc="}}}`, 0o600)
	if r := e2.run("import", "--from-config", "--keep", p); r.code != 0 || !strings.Contains(r.stdout, "copied 1") {
		t.Errorf("import --keep: %s %s", r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("import --keep changed config.json")
	}
}

// upstreamHelper builds one of docker-credential-helpers' own helpers.
func upstreamHelper(t *testing.T, name string) {
	t.Helper()
	if _, err := launch.BuildUpstream(binDir, name); err != nil {
		testenv.Unavailable(t, fmt.Errorf("build upstream %s helper (needs libsecret-1-dev, pkg-config, gcc): %w", name, err))
	}
}

func TestImportFromHelpers(t *testing.T) {
	testenv.Require(t, "pass", "gpg")
	upstreamHelper(t, "secretservice")
	upstreamHelper(t, "pass")
	e := newEnv(t, launch.Unlocked)
	gnupg := filepath.Join(e.session.Dir, "gnupg")
	os.MkdirAll(gnupg, 0o700)
	e.vars["GNUPGHOME"] = gnupg
	e.vars["PASSWORD_STORE_DIR"] = filepath.Join(e.session.Dir, "pass")
	for _, c := range [][]string{
		{"gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "t@regcred.test", "default", "default", "never"},
		{"pass", "init", "t@regcred.test"},
	} {
		if out, err := e.command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	t.Cleanup(func() { e.command("gpgconf", "--homedir", gnupg, "--kill", "all").Run() })
	for _, helper := range []string{"secretservice", "pass"} {
		prog := e.program(filepath.Join(binDir, "docker-credential-"+helper))
		for _, c := range []credentials.Credentials{
			{ServerURL: helper + "-a.example", Username: "alice", Secret: "pw-" + helper},
			{ServerURL: "https://" + helper + "-b.example:5000", Username: "<token>", Secret: "tok-" + helper},
		} {
			if err := client.Store(prog, &c); err != nil {
				t.Fatalf("%s store: %v", helper, err)
			}
		}
		r := e.run("import", "--from-helper", helper)
		if r.code != 0 || !strings.Contains(r.stdout, "copied 2 credential(s)") {
			t.Fatalf("import --from-helper %s: exit %d\n%s\n%s", helper, r.code, r.stdout, r.stderr)
		}
		for server, want := range map[string][2]string{
			helper + "-a.example":                   {"alice", "pw-" + helper},
			"https://" + helper + "-b.example:5000": {"<token>", "tok-" + helper},
		} {
			c, err := client.Get(e.program(), server)
			if err != nil || c.Username != want[0] || c.Secret != want[1] {
				t.Errorf("after import from %s, %s = %+v, %v", helper, server, c, err)
			}
		}
	}
	list, _ := client.List(e.program())
	for k := range list {
		if strings.HasPrefix(k, "Registry credentials for") {
			t.Errorf("imported a secretservice display label as an address: %q", k)
		}
	}
	if r := e.run("import", "--from-helper", "nonexistent"); r.code == 0 || !strings.Contains(r.stderr, "not on PATH") {
		t.Errorf("import from a missing helper: %s", r.stderr)
	}
}

func TestLsNeverShowsSecrets(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	for _, c := range []credentials.Credentials{{ServerURL: "b.example", Username: "bob", Secret: "SECRET1"}, {ServerURL: "a.example", Username: "alice", Secret: "SECRET2"}} {
		if err := client.Store(e.program(), &c); err != nil {
			t.Fatal(err)
		}
	}
	r := e.run("ls")
	want := "keyring: Secret Service (REGCRED_BACKEND says so)\n\nREGISTRY   USERNAME\na.example  alice\nb.example  bob\n"
	if r.code != 0 || r.stdout != want {
		t.Errorf("ls = %q, want %q", r.stdout, want)
	}
}

func TestCompletionScripts(t *testing.T) {
	e := &env{t: t, vars: map[string]string{"PATH": os.Getenv("PATH")}, bin: helperBin()} // no keyring
	for _, sh := range []string{"bash", "zsh", "fish"} {
		r := e.run("completion", sh)
		if r.code != 0 || !strings.Contains(r.stdout, "docker-credential-regcred") || !strings.Contains(r.stdout, "configure") {
			t.Errorf("completion %s: exit %d %q", sh, r.code, r.stdout)
		}
	}
	t.Run("bash completes", func(t *testing.T) {
		testenv.Require(t, "bash") // a failure under CI, never a silent pass
		r := e.run("completion", "bash")
		cmd := exec.Command("bash", "-c", r.stdout+"\nCOMP_WORDS=(docker-credential-regcred con); COMP_CWORD=1; _docker_credential_regcred; echo ${COMPREPLY[@]}")
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != "configure" {
			t.Errorf("bash completion of 'con' = %q, %v", out, err)
		}
	})
	if r := e.run("completion", "tcsh"); r.code == 0 {
		t.Error("completion for an unknown shell succeeded")
	}
}

// TestHelpEverywhere: help, --help and -h for every command print its
// description, examples and usage on stdout and exit 0; a bad flag is one
// line on stderr naming where help is, exit 1.
func TestHelpEverywhere(t *testing.T) {
	e := newEnv(t, launch.BusOnly)
	for _, cmd := range []string{"configure", "import", "doctor", "ls", "completion"} {
		for _, args := range [][]string{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}} {
			r := e.run(args...)
			if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Examples:\n  # ") ||
				!strings.Contains(r.stdout, "Usage:\n  docker-credential-regcred "+cmd) {
				t.Errorf("%v: exit %d stderr %q stdout:\n%s", args, r.code, r.stderr, r.stdout)
			}
		}
		r := e.run(cmd, "--no-such-flag")
		want := "docker-credential-regcred " + cmd + ": flag provided but not defined: -no-such-flag (see `docker-credential-regcred " + cmd + " --help`)\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("%s --no-such-flag: exit %d stdout %q stderr %q", cmd, r.code, r.stdout, r.stderr)
		}
	}
	for _, verb := range []string{"store", "get", "erase", "list", "version"} {
		if r := e.run(verb, "--help"); r.code != 0 || !strings.Contains(r.stdout, "Examples:\n") || !strings.Contains(r.stdout, "Usage:\n  docker-credential-regcred "+verb) {
			t.Errorf("%s --help: exit %d\n%s", verb, r.code, r.stdout)
		}
	}
	if r := e.run("help"); r.code != 0 || !strings.Contains(r.stdout, "Management commands:") || !strings.Contains(r.stdout, "Examples:") {
		t.Errorf("help: exit %d\n%s", r.code, r.stdout)
	}
}
