package manage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regcred/regcred/manage"
	"github.com/regcred/regcred/store"
	"github.com/regcred/regcred/store/keyring"
)

// box is a user's machine in-process: a home of its own, a docker config
// directory, and the store on an in-memory keyring.
type box struct {
	t    *testing.T
	vars map[string]string
	kr   *keyring.Memory
	st   *store.Store
}

func newBox(t *testing.T) *box {
	t.Helper()
	home := t.TempDir()
	kr := keyring.NewMemory()
	st, err := store.New(store.Config{Keyring: kr, LockPath: filepath.Join(home, "lock")})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"HOME": home, "DOCKER_CONFIG": filepath.Join(home, ".docker"), "XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR": filepath.Join(home, "run"), "PATH": "/nonexistent",
	}
	return &box{t: t, vars: vars, kr: kr, st: st}
}

// run runs a management command in-process; only the docker helper
// itself is "installed" on PATH.
func (b *box) run(args ...string) (int, string, string) {
	b.t.Helper()
	var out, errb bytes.Buffer
	code := manage.Run(context.Background(), args, manage.Env{
		Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return b.vars[k] },
		LookPath: func(name string) (string, error) {
			if name == "docker-credential-regcred" {
				return "/usr/local/bin/" + name, nil
			}
			return "", os.ErrNotExist
		},
		Open: func() (store.Opened, error) {
			return store.Opened{Store: b.st, Keyring: b.kr, Choice: store.Choice{Name: "memory", Why: "the test's"}}, nil
		},
	})
	return code, out.String(), errb.String()
}

func (b *box) dockerConfig(content string) string {
	b.t.Helper()
	p := filepath.Join(b.vars["DOCKER_CONFIG"], "config.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		b.t.Fatal(err)
	}
	return p
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// TestConfigureDockerInProcess: configure points docker at regcred keeping
// every other field, says so, changes nothing the second time, and --undo
// puts the old store back.
func TestConfigureDockerInProcess(t *testing.T) {
	b := newBox(t)
	p := b.dockerConfig(`{"credsStore": "desktop", "psFormat": "table {{.ID}}", "auths": {"r.example": {}}}`)
	code, out, errOut := b.run("configure", "--tools", "docker")
	if code != 0 || !strings.Contains(out, `"credsStore": "regcred"`) || !strings.Contains(errOut, `replacing credsStore "desktop"`) {
		t.Fatalf("configure: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := readJSON(t, p); got["credsStore"] != "regcred" || got["psFormat"] != "table {{.ID}}" {
		t.Errorf("config.json after configure: %v", got)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode: %v, %v", fi.Mode(), err)
	}
	before, _ := os.ReadFile(p)
	if code, out, _ := b.run("configure", "--tools", "docker"); code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("second configure: exit %d, stdout %q", code, out)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Error("the second configure rewrote config.json")
	}
	if code, _, errOut := b.run("configure", "--tools", "docker", "--undo"); code != 0 || readJSON(t, p)["credsStore"] != "desktop" {
		t.Errorf("configure --undo: exit %d, stderr %q, credsStore %v", code, errOut, readJSON(t, p)["credsStore"])
	}
}

// TestImportInProcess: import --from-config moves docker's plaintext
// credentials into the keyring and leaves none in the file.
func TestImportInProcess(t *testing.T) {
	b := newBox(t)
	p := b.dockerConfig(`{"auths": {
		"a.example": {"auth": "YWxpY2U6cGE6c3N3MHJk"},
		"b.example:5000": {"username": "bob", "password": "b0bsecret"},
		"empty.example": {}
	}}`)
	code, out, errOut := b.run("import", "--from-config")
	if code != 0 || !strings.Contains(out, "moved 2 credential(s)") {
		t.Fatalf("import: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for server, want := range map[string]store.Credential{
		"a.example":      {ServerURL: "a.example", Username: "alice", Secret: "pa:ssw0rd"},
		"b.example:5000": {ServerURL: "b.example:5000", Username: "bob", Secret: "b0bsecret"},
	} {
		if c, err := b.st.Get(context.Background(), server); err != nil || c != want {
			t.Errorf("keyring %s = %+v, %v; want %+v", server, c, err, want)
		}
	}
	data, _ := os.ReadFile(p)
	for _, secret := range []string{"YWxpY2U6cGE6c3N3MHJk", "b0bsecret", "pa:ssw0rd"} {
		if strings.Contains(string(data), secret) {
			t.Errorf("config.json still holds %q: %s", secret, data)
		}
	}
	if code, out, _ := b.run("import", "--from-config"); code != 0 || !strings.Contains(out, "nothing to import") {
		t.Errorf("second import: exit %d, stdout %q", code, out)
	}
}

// TestLsInProcess: ls lists registries and usernames, never a secret.
func TestLsInProcess(t *testing.T) {
	b := newBox(t)
	for _, c := range []store.Credential{{ServerURL: "ghcr.io", Username: "alice", Secret: "s3cret"}, {ServerURL: "r.example:5000", Username: "bob", Secret: "hunter2"}} {
		if err := b.st.Put(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	code, out, _ := b.run("ls")
	want := "keyring: in-memory keyring (the test's)\n\nREGISTRY        USERNAME\nghcr.io         alice\nr.example:5000  bob\n"
	if code != 0 || out != want {
		t.Errorf("ls: exit %d, stdout %q; want %q", code, out, want)
	}
	if code, _, errOut := b.run("ls", "extra"); code != 1 || errOut != "docker-credential-regcred ls: ls takes no arguments (got \"extra\")\n" {
		t.Errorf("ls extra: exit %d, stderr %q", code, errOut)
	}
}

// TestBadFlagsChangeNothing: a management command with a bad flag fails in
// one line on stderr and touches neither the keyring nor docker's file.
func TestBadFlagsChangeNothing(t *testing.T) {
	b := newBox(t)
	p := b.dockerConfig(`{"auths": {"a.example": {"auth": "YWxpY2U6cGE6c3N3MHJk"}}}`)
	before, _ := os.ReadFile(p)
	for _, args := range [][]string{{"configure", "--tools", "nosuch"}, {"import", "--bogus"}, {"configure", "--undo", "--backend", "kernel"}} {
		code, out, errOut := b.run(args...)
		if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "docker-credential-regcred "+args[0]+": ") || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Errorf("config.json changed: %s", after)
	}
	if items := b.kr.Snapshot(); len(items) != 0 {
		t.Errorf("the keyring changed: %v", slices.Collect(maps.Keys(items)))
	}
}
