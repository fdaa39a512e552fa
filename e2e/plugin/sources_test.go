package plugin_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv/launch"
)

// dockerConfig points the kenv's docker at config (config.json's content)
// and puts dir (scripted helpers) first on its PATH.
func (k *kenv) dockerConfig(config string, dirs ...string) {
	k.t.Helper()
	if err := os.WriteFile(filepath.Join(k.vars["DOCKER_CONFIG"], "config.json"), []byte(config), 0o600); err != nil {
		k.t.Fatal(err)
	}
	for _, d := range dirs {
		k.vars["PATH"] = d + string(os.PathListSeparator) + k.vars["PATH"]
	}
}

// helperScript writes a credential helper docker-credential-NAME into dir
// that runs body (sh) and logs its arguments to dir/NAME.argv.
func helperScript(t *testing.T, dir, name, body string) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\necho \"$@\" >> %q\n%s\n", filepath.Join(dir, name+".argv"), body)
	if err := launch.WriteProgram(filepath.Join(dir, "docker-credential-"+name), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
}

// TestExportFromAnotherStore (issue 30): with docker's credsStore the
// upstream pass or secretservice helper, and regcred never configured,
// export writes their credentials, under keys the kubelet's own lookup
// matches — the Kubernetes task's "credentials store" case.
func TestExportFromAnotherStore(t *testing.T) {
	for _, helper := range []string{"pass", "secretservice"} {
		t.Run(helper, func(t *testing.T) {
			k := newKenv(t)
			ns := namespace(t)
			k.dockerConfig(fmt.Sprintf(`{"credsStore":%q}`, helper), upstreamDir)
			if helper == "pass" {
				k.vars["GNUPGHOME"] = filepath.Join(k.tempDir(), "gnupg")
				k.vars["PASSWORD_STORE_DIR"] = filepath.Join(k.tempDir(), "pass")
				os.MkdirAll(k.vars["GNUPGHOME"], 0o700)
				for _, c := range [][]string{
					{"gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key", "e2e@regcred.test", "default", "default", "never"},
					{"pass", "init", "e2e@regcred.test"},
				} {
					if r := k.exec(c[0], "", c[1:]...); r.code != 0 {
						t.Fatalf("%v: %s", c, r.stderr)
					}
				}
				t.Cleanup(func() { k.exec("gpgconf", "", "--homedir", k.vars["GNUPGHOME"], "--kill", "all") })
			}
			p := k.program(filepath.Join(upstreamDir, "docker-credential-"+helper))
			creds := map[string][2]string{
				"ghcr.io":                   {"alice", "ghp_" + helper},
				"registry.example.com:5000": {"bob", "p@ss " + helper},
			}
			for server, c := range creds {
				if err := client.Store(p, &credentials.Credentials{ServerURL: server, Username: c[0], Secret: c[1]}); err != nil {
					t.Fatalf("docker-credential-%s store: %v", helper, err)
				}
			}
			if r := k.exec(filepath.Join(binDir, "docker-credential-regcred"), "", "list"); r.code != 0 || strings.TrimSpace(r.stdout) != "{}" {
				t.Fatalf("regcred's keyring is not empty: %q %s", r.stdout, r.stderr)
			}
			if r := k.plugin("export", "--from", "keyring", "-n", ns); r.code != 1 || !strings.Contains(r.stderr, "the keyring holds no credentials") {
				t.Errorf("--from keyring: exit %d %q", r.code, r.stderr)
			}
			r := k.plugin("export", "-n", ns)
			if r.code != 0 {
				t.Fatalf("export from docker's %s: exit %d %s", helper, r.code, r.stderr)
			}
			images := []string{"ghcr.io/alice/app:v1", "registry.example.com:5000/team/app:v1"}
			got := kubeletLookup(t, secret(t, "alpha", ns, "regcred"), images)
			want := map[string]string{images[0]: "alice:ghp_" + helper, images[1]: "bob:p@ss " + helper}
			for _, im := range images {
				if got[im] != want[im] {
					t.Errorf("the kubelet finds %q for %s, want %q", got[im], im, want[im])
				}
			}
		})
	}
}

// TestExportResolvesAsDocker (issue 30): one config routes a registry to a
// helper that mints tokens (credHelpers), another to regcred, and keeps a
// third in plain text (auths): one export holds all three, each what
// docker would send — checked against crane, which resolves them with
// docker's own rules. The minted ECR token gets its 12-hour warning; the
// helper saw its request on stdin, nothing on its command line.
func TestExportResolvesAsDocker(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	ecr := "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	helpers := k.tempDir()
	helperScript(t, helpers, "minter", `[ "$1" = get ] || exit 1
server=$(cat)
printf '{"ServerURL":"%s","Username":"AWS","Secret":"minted-for-%s"}' "$server" "$server"`)
	k.store("regcred.example", "carol", "from-regcred")
	plain := base64.StdEncoding.EncodeToString([]byte("dave:plain-text"))
	k.dockerConfig(fmt.Sprintf(`{"credHelpers":{%q:"minter","regcred.example":"regcred"},"auths":{"plain.example":{"auth":%q}}}`, ecr, plain), helpers)

	r := k.plugin("export", "-n", ns)
	if r.code != 0 {
		t.Fatalf("export: exit %d %s", r.code, r.stderr)
	}
	want := []string{ecr + "=AWS:minted-for-" + ecr, "plain.example=dave:plain-text", "regcred.example=carol:from-regcred"}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, want) {
		t.Errorf("the Secret holds %v, want %v", got, want)
	}
	for _, w := range []string{
		"warning: the credential for " + ecr + " expires by ",
		"an ECR token lasts 12 hours): re-run this export before then",
		"note: docker keeps plain.example in plain text",
	} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("export's stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	for _, server := range []string{ecr, "plain.example", "regcred.example"} {
		c := k.exec(filepath.Join(binDir, "crane"), "", "auth", "get", server)
		var cred struct{ Username, Secret string }
		if c.code != 0 || json.Unmarshal([]byte(c.stdout), &cred) != nil {
			t.Fatalf("crane auth get %s: exit %d %q %s", server, c.code, c.stdout, c.stderr)
		}
		if e := server + "=" + cred.Username + ":" + cred.Secret; !slices.Contains(want, e) {
			t.Errorf("crane resolves %s, the export %v", e, want)
		}
	}
	argv, err := os.ReadFile(filepath.Join(helpers, "minter.argv"))
	if err != nil || string(argv) != "get\nget\n" {
		t.Errorf("the minter ran with %q (want get: once for export, once for crane): %v", argv, err)
	}
	if fi, err := os.Stat(filepath.Join(helpers, "minter.argv")); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(k.user.UID) {
		t.Errorf("the minter did not run as the kenv's user: %v", err)
	}
}

// TestExportSurvivesFailingHelpers (issue 30): a helper that hangs, one
// that fails and one that is not installed each cost one line naming it —
// within the time-out — and the other registries are still exported, with
// a non-zero exit.
func TestExportSurvivesFailingHelpers(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	helpers := k.tempDir()
	helperScript(t, helpers, "hang", "exec sleep 60")
	helperScript(t, helpers, "fail", `echo "the keychain is locked" >&2; exit 1`)
	k.store("ok.example", "erin", "fine")
	k.dockerConfig(`{"credsStore":"regcred","credHelpers":{"hang.example":"hang","fail.example":"fail","gone.example":"nosuchhelper"}}`, helpers)
	start := time.Now()
	r := k.plugin("export", "-n", ns, "--helper-timeout", "2s")
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("export took %v with a 2s helper time-out", took)
	}
	if r.code != 1 {
		t.Errorf("export: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, w := range []string{
		"error: hang.example: docker-credential-hang did not answer within 2s: it may be waiting for a passphrase or an unlocked keychain",
		"error: fail.example: docker-credential-fail failed: the keychain is locked",
		"error: gone.example: docker-credential-nosuchhelper, which docker's config names, is not installed (not found in PATH ",
		"error: 3 credential lookups failed (named above); the others were exported",
	} {
		if n := strings.Count(r.stderr, w); n != 1 {
			t.Errorf("stderr has %q %d times, want once:\n%s", w, n, r.stderr)
		}
	}
	if got := entries(t, ns, "regcred"); !slices.Equal(got, []string{"ok.example=erin:fine"}) {
		t.Errorf("the Secret holds %v", got)
	}
	// verify cannot tell (exit 2, as when it cannot reach the cluster);
	// inspect shows what it could compare, and fails.
	const notCompared = "error: 3 credential lookups failed (named above): not compared\n"
	if r := k.plugin("verify", "-n", ns, "--helper-timeout", "2s"); r.code != 2 || !strings.HasSuffix(r.stderr, notCompared) {
		t.Errorf("verify: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := k.plugin("inspect", "-n", ns, "--helper-timeout", "2s"); r.code != 1 || !strings.Contains(r.stdout, "ok.example") || !strings.HasSuffix(r.stderr, notCompared) {
		t.Errorf("inspect: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestVerifyFailsOnExpired (issue 30): an entry whose token has expired is
// drift for verify (exit 1), though the keyring holds the same dead token.
func TestVerifyFailsOnExpired(t *testing.T) {
	k := newKenv(t)
	ns := namespace(t)
	k.store("live.example", "robot", jwtExpiring(48*time.Hour))
	if r := k.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	if r := k.plugin("verify", "-n", ns); r.code != 0 {
		t.Fatalf("verify with a live token: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	k.store("dead.example", "robot", jwtExpiring(-time.Hour))
	if r := k.plugin("export", "-n", ns); r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	r := k.plugin("verify", "-n", ns)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "dead.example: expired ") || strings.Contains(r.stdout, "live.example") {
		t.Errorf("verify with an expired token: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}
