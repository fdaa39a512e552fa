package manage_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/docker/docker-credential-helpers/client"

	"github.com/regcred/regcred/testenv"
)

// dropIn is where configure wires podman, buildah and skopeo.
func (e *env) dropIn() string {
	return filepath.Join(e.session.Dir, ".config/containers/registries.conf.d/90-regcred.conf")
}

// helmConfig is helm's registry config in the session's XDG_CONFIG_HOME.
func (e *env) helmConfig() string {
	return filepath.Join(e.vars["XDG_CONFIG_HOME"], "helm/registry/config.json")
}

// snapshot is every regular file under the session's HOME, by path.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	files := map[string]string{}
	filepath.WalkDir(e.session.Dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.Contains(p, "/keyrings/") && !strings.Contains(p, "/regcred/") {
			b, _ := os.ReadFile(p)
			files[p] = string(b)
		}
		return nil
	})
	return files
}

func TestConfigureEveryTool(t *testing.T) {
	e := newEnv(t, launch.BusOnly) // configure needs no keyring
	writeFile(t, e.helmConfig(), `{"auths": {"charts.example": {}}, "x-helm": true}`)

	r := e.run("configure", "--tools", "docker,containers,helm")
	if r.code != 0 {
		t.Fatalf("configure: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := readJSON(t, filepath.Join(e.docker, "config.json"))["credsStore"]; got != "regcred" {
		t.Errorf("docker credsStore = %v", got)
	}
	helm := readJSON(t, e.helmConfig())
	if helm["credsStore"] != "regcred" || helm["x-helm"] != true || helm["auths"] == nil {
		t.Errorf("helm registry config = %v", helm)
	}
	drop, err := os.ReadFile(e.dropIn())
	if err != nil || !strings.Contains(string(drop), "\ncredential-helpers = [\"regcred\"]\n") {
		t.Errorf("registries.conf drop-in: %v\n%s", err, drop)
	}
	if fi, err := os.Stat(e.dropIn()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("drop-in mode: %v %v", fi, err)
	}
	for _, want := range []string{e.dropIn() + ": podman, buildah and skopeo now", e.helmConfig() + ": helm now stores"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("configure output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "\n"); n != 4 || !strings.HasPrefix(r.stdout, "credentials are kept in the Secret Service (") {
		t.Errorf("want the keyring's line and one line per tool, got %d:\n%s", n, r.stdout)
	}
	before := e.snapshot()
	if r := e.run("configure", "--tools", "docker,containers,helm"); r.code != 0 || strings.Count(r.stdout, "nothing changed") != 3 {
		t.Errorf("second configure: exit %d\n%s", r.code, r.stdout)
	}
	if after := e.snapshot(); !equalFiles(before, after) {
		t.Error("a second configure changed files")
	}

	// Bad input: one line saying what is wrong, nothing changed.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"configure", "--tools", "docker,podmn"}, `--tools: unknown tool "podmn": give any of docker,containers,helm`},
		{[]string{"configure", "--tools", ","}, "--tools names no tool: give any of docker,containers,helm"},
		{[]string{"configure", "--tools", "helm", "--registries", "ghcr.io"}, "--registries sets docker's credHelpers: use it with --tools docker, or alone"},
	} {
		args := tt.args
		r := e.run(args...)
		if r.code != 1 || r.stderr != "docker-credential-regcred configure: "+tt.want+"\n" || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exactly %q", args, r.code, r.stdout, r.stderr, tt.want)
		}
		if after := e.snapshot(); !equalFiles(before, after) {
			t.Errorf("%v changed files", args)
		}
	}

	// A config one tool cannot use stops configure before any file changes.
	writeFile(t, e.helmConfig(), `{"credsStore": ["not", "a", "string"]}`)
	before = e.snapshot()
	if r := e.run("configure", "--undo"); r.code != 1 || !strings.Contains(r.stderr, e.helmConfig()) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("configure --undo with a broken helm config: exit %d %q", r.code, r.stderr)
	}
	if !equalFiles(before, e.snapshot()) {
		t.Error("configure changed files although helm's config was unusable")
	}
	writeFile(t, e.helmConfig(), `{"auths": {"charts.example": {}}, "x-helm": true, "credsStore": "regcred"}`)

	// --undo puts every tool back, installed or not.
	e.vars["PATH"] = binDir
	if r := e.run("configure", "--undo"); r.code != 0 {
		t.Fatalf("configure --undo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(e.dropIn()); !os.IsNotExist(err) {
		t.Errorf("--undo left the drop-in: %v", err)
	}
	helm = readJSON(t, e.helmConfig())
	if _, ok := helm["credsStore"]; ok || helm["x-helm"] != true {
		t.Errorf("helm config after --undo = %v", helm)
	}
	if _, ok := readJSON(t, filepath.Join(e.docker, "config.json"))["credsStore"]; ok {
		t.Error("docker credsStore left after --undo")
	}

	// A drop-in someone else wrote is not regcred's to remove.
	writeFile(t, e.dropIn(), "credential-helpers = [\"pass\"]\n")
	if r := e.run("configure", "--undo", "--tools", "containers"); r.code != 1 || !strings.Contains(r.stderr, "not written by regcred") {
		t.Errorf("--undo over a foreign drop-in: exit %d %s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(e.dropIn()); string(b) != "credential-helpers = [\"pass\"]\n" {
		t.Errorf("foreign drop-in changed: %s", b)
	}
}

// TestConfigureDefaultsToInstalledTools: without --tools, configure wires
// docker's config and each other client found on PATH, and only those.
func TestConfigureDefaultsToInstalledTools(t *testing.T) {
	e := newEnv(t, launch.BusOnly)
	e.vars["PATH"] = binDir + string(os.PathListSeparator) + fakeProgram(t, e, "helm")
	if r := e.run("configure"); r.code != 0 {
		t.Fatalf("configure: exit %d\n%s", r.code, r.stderr)
	}
	if readJSON(t, e.helmConfig())["credsStore"] != "regcred" {
		t.Error("helm is on PATH but was not wired")
	}
	if _, err := os.Stat(e.dropIn()); !os.IsNotExist(err) {
		t.Errorf("no containers tool is on PATH, yet the drop-in was written: %v", err)
	}
}

func equalFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestImportEveryClientFile: import with no source moves plaintext from
// every file a known client writes, each in its own format, one line per
// entry, and leaves none of the secrets in any file.
func TestImportEveryClientFile(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	home := e.session.Dir
	files := map[string]string{
		filepath.Join(e.docker, "config.json"):              `{"auths": {"d.example": {"auth": "ZHVzZXI6ZC1zZWNyZXQ="}}, "psFormat": "x"}`, // duser:d-secret
		filepath.Join(home, ".dockercfg"):                   `{"legacy.example": {"auth": "bHVzZXI6bC1zZWNyZXQ=", "email": "l@example.com"}}`,
		filepath.Join(home, "run/containers/auth.json"):     `{"auths": {"p.example:5000": {"auth": "cHVzZXI6cC1zZWNyZXQ="}}}`, // puser:p-secret
		filepath.Join(home, ".config/containers/auth.json"): `{"auths": {"c.example": {"auth": "Y3VzZXI6Yy1zZWNyZXQ="}}}`,      // cuser:c-secret
		e.helmConfig(): `{"auths": {"charts.example": {"username": "huser", "password": "h-secret"}}}`,
	}
	for p, c := range files {
		writeFile(t, p, c)
	}
	secrets := []string{"d-secret", "l-secret", "p-secret", "c-secret", "h-secret",
		"ZHVzZXI6ZC1zZWNyZXQ=", "bHVzZXI6bC1zZWNyZXQ=", "cHVzZXI6cC1zZWNyZXQ=", "Y3VzZXI6Yy1zZWNyZXQ="}

	r := e.run("import")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := map[string][2]string{
		"d.example": {"duser", "d-secret"}, "legacy.example": {"luser", "l-secret"}, "p.example:5000": {"puser", "p-secret"},
		"c.example": {"cuser", "c-secret"}, "charts.example": {"huser", "h-secret"},
	}
	for server, w := range want {
		c, err := client.Get(e.program(), server)
		if err != nil || c.Username != w[0] || c.Secret != w[1] {
			t.Errorf("keyring %s = %+v, %v", server, c, err)
		}
		if !strings.Contains(r.stdout, "moved "+server+" ("+w[0]+") from ") {
			t.Errorf("no line for %s:\n%s", server, r.stdout)
		}
	}
	if !strings.Contains(r.stdout, "moved 5 credential(s) into the keyring from 5 files") || strings.Count(r.stdout, "\n") != 6 {
		t.Errorf("import output:\n%s", r.stdout)
	}
	testenv.NoPlaintext(t, e.session, secrets...)
	if got := readJSON(t, filepath.Join(e.docker, "config.json")); got["psFormat"] != "x" {
		t.Errorf("config.json lost a field: %v", got)
	}
	if got := readJSON(t, filepath.Join(home, ".dockercfg")); got["legacy.example"].(map[string]any)["email"] != "l@example.com" {
		t.Errorf(".dockercfg after import: %v", got)
	}
	if r := e.run("import"); r.code != 0 || !strings.Contains(r.stdout, "nothing to import") {
		t.Errorf("second import: %s", r.stdout)
	}
}

// TestImportConflictsAndBadInput: two files giving one registry different
// credentials — the first (docker's) is imported, the other stays, named on
// one line. An unreadable entry anywhere stops the import before any write.
func TestImportConflictsAndBadInput(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	auth := filepath.Join(e.session.Dir, "run/containers/auth.json")
	docker := e.writeConfig(`{"auths": {"r.example": {"auth": "YTphLXB3"}}}`, 0o600) // a:a-pw
	writeFile(t, auth, `{"auths": {"https://R.example": {"auth": "YjpiLXB3"}, "s.example": {"auth": "czpzLXB3"}}}`)
	r := e.run("import")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s", r.code, r.stderr)
	}
	if want := "skipped https://R.example in " + auth + ": " + docker + " gave this registry another credential"; !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
	if c, err := client.Get(e.program(), "r.example"); err != nil || c.Username != "a" {
		t.Errorf("r.example = %+v %v, want docker's", c, err)
	}
	if b, _ := os.ReadFile(auth); !strings.Contains(string(b), "YjpiLXB3") || strings.Contains(string(b), "czpzLXB3") {
		t.Errorf("auth.json after import: %s", b)
	}
	// --from-config PATH takes that file's credential.
	if r := e.run("import", "--from-config", auth); r.code != 0 || !strings.Contains(r.stdout, "moved https://R.example (b) from "+auth) {
		t.Errorf("import --from-config %s: %s %s", auth, r.stdout, r.stderr)
	}
	if c, _ := client.Get(e.program(), "r.example"); c == nil || c.Username != "b" {
		t.Errorf("r.example after --from-config = %+v", c)
	}

	// Bad input: nothing changed, in any file.
	e.writeConfig(`{"auths": {"ok.example": {"auth": "bzpvLXB3"}}}`, 0o600)
	writeFile(t, auth, `{"auths": {"bad.example": {"auth": "%%%not-base64"}}}`)
	before := e.snapshot()
	notBase64 := auth + `: entry bad.example: "auth" is not base64; nothing was imported`
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import"}, notBase64},
		{[]string{"import", "--from-config=" + auth}, notBase64},
		{[]string{"import", "stray"}, `unexpected argument "stray": give a file with --from-config PATH`},
		{[]string{"import", "--from-config", "--from-helper", "pass"}, "give one of --from-config [PATH] or --from-helper NAME"},
	} {
		args := tt.args
		r := e.run(args...)
		if r.code != 1 || r.stderr != "docker-credential-regcred import: "+tt.want+"\n" {
			t.Errorf("%v: exit %d stderr %q; want exactly %q", args, r.code, r.stderr, tt.want)
		}
		if !equalFiles(before, e.snapshot()) {
			t.Errorf("%v changed files", args)
		}
	}
	if _, err := client.Get(e.program(), "ok.example"); err == nil {
		t.Error("an import that failed on another file's entry wrote ok.example")
	}
	if r := e.run("import", "--from-config", filepath.Join(e.session.Dir, "missing.json")); r.code != 1 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("import of a missing file: %d %s", r.code, r.stderr)
	}
	if !bytes.Contains([]byte(e.run("import", "--help").stdout), []byte("--from-config PATH")) {
		t.Error("import --help does not describe --from-config")
	}
}
