package manage_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

// doctorLine returns doctor's line for a check.
func doctorLine(out, check string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, check) {
			return l
		}
	}
	return ""
}

func TestDoctorFailurePaths(t *testing.T) {
	good := `{"credsStore": "regcred"}`
	// The checks in the order doctor prints them: each setup fails exactly one.
	tests := []struct {
		name   string
		mode   launch.KeyringMode
		setup  func(t *testing.T, e *env)
		check  string // the failing check
		reason string // in its message
	}{
		{"binary not on PATH", launch.Unlocked, func(t *testing.T, e *env) { e.vars["PATH"] = "/usr/bin:/bin" },
			"docker-credential-regcred is on PATH", "install it"},
		{"docker not pointed at regcred", launch.Unlocked, func(t *testing.T, e *env) { e.writeConfig(`{"credsStore": "desktop"}`, 0o600) },
			"docker, crane, oras, buildx: wired to regcred", "configure --tools docker"},
		{"podman not pointed at regcred", launch.Unlocked, func(t *testing.T, e *env) {
			testenv.Require(t, "podman")
			if err := os.Remove(filepath.Join(e.session.Dir, ".config/containers/registries.conf.d/90-regcred.conf")); err != nil {
				t.Fatal(err)
			}
		}, "podman, buildah, skopeo: wired to regcred", "configure --tools containers"},
		{"helm not pointed at regcred", launch.Unlocked, func(t *testing.T, e *env) {
			e.vars["PATH"] += string(os.PathListSeparator) + fakeProgram(t, e, "helm")
		}, "helm: wired to regcred", "configure --tools helm"},
		{"plaintext secret in config", launch.Unlocked, func(t *testing.T, e *env) {
			e.writeConfig(`{"credsStore": "regcred", "auths": {"r.example": {"auth": "dTpw"}}}`, 0o600)
		}, "no plaintext credential in ", "import`"},
		{"plaintext secret in podman's auth file", launch.Unlocked, func(t *testing.T, e *env) {
			writeFile(t, filepath.Join(e.session.Dir, "run/containers/auth.json"), `{"auths": {"r.example": {"auth": "dTpw"}}}`)
		}, "no plaintext credential in ", "written by podman, buildah, skopeo"},
		{"plaintext secret in ~/.dockercfg", launch.Unlocked, func(t *testing.T, e *env) {
			writeFile(t, filepath.Join(e.session.Dir, ".dockercfg"), `{"r.example": {"auth": "dTpw", "email": "u@example.com"}}`)
		}, "no plaintext credential in ", "written by docker (legacy)"},
		{"no session bus", launch.BusOnly, func(t *testing.T, e *env) { delete(e.vars, "DBUS_SESSION_BUS_ADDRESS") },
			"D-Bus session bus", "no D-Bus session bus"},
		{"no provider", launch.BusOnly, nil, "Secret Service provider on the bus", "no Secret Service provider"},
		{"no login collection", launch.NoLogin, nil, "keyring collection present and unlocked", "no login or default collection"},
		{"locked", launch.Unlocked, func(t *testing.T, e *env) {
			if err := e.session.Lock(); err != nil {
				t.Fatal(err)
			}
		}, "keyring collection present and unlocked", "locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mode)
			e.vars["REGCRED_TIMEOUT"] = "2s"
			e.writeConfig(good, 0o600)
			if r := e.run("configure"); r.code != 0 {
				t.Fatalf("configure: %s", r.stderr)
			}
			if tt.setup != nil {
				tt.setup(t, e)
			}
			r := e.run("doctor")
			line := doctorLine(r.stdout, tt.check)
			if r.code != 1 || !strings.HasPrefix(line, "✗ ") || !strings.Contains(line, tt.reason) {
				t.Errorf("doctor: exit %d, line %q; want exit 1 and ✗ with %q\n%s", r.code, line, tt.reason, r.stdout)
			}
			if n := strings.Count(r.stdout, "✗"); n != 1 {
				t.Errorf("%d checks failed, want only %q:\n%s", n, tt.check, r.stdout)
			}
		})
	}
}

// TestDoctorRepair: doctor reports an item an older version wrote, a chunk
// no credential uses and an item that cannot be read, each in the one
// keyring line with the fix; --fix rewrites the first, deletes the second
// and leaves the third for the user to erase.
func TestDoctorRepair(t *testing.T) {
	testenv.Require(t, "secret-tool")
	e := newEnv(t, launch.Unlocked)
	if r := e.run("configure"); r.code != 0 {
		t.Fatalf("configure: %s", r.stderr)
	}
	if r := e.run("doctor"); r.code != 0 || strings.Contains(r.stdout, "✗") || strings.Count(r.stdout, "✓") < 7 {
		t.Fatalf("doctor on a healthy set-up: exit %d\n%s", r.code, r.stdout)
	}
	if err := client.Store(e.program(), &credentials.Credentials{ServerURL: "kept.example", Username: "u-kept", Secret: "s"}); err != nil {
		t.Fatal(err)
	}
	secretTool := func(stdin string, args ...string) {
		cmd := e.command("secret-tool", args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("secret-tool %v: %v %s", args, err, out)
		}
	}
	item := func(account, label, data string) {
		secretTool(data, "store", "--label="+label, "service", "docker-credential-regcred", "username", account)
	}
	item("old.example", "Password for 'old.example' on 'docker-credential-regcred'", `{"v":2,"a":"Old.example","u":"u-old","s":"s"}`)
	item("regcred-chunk:0123456789abcdef0123456789abcdef:1", "x", "orphan-bytes")
	item("corrupt.example", "x", "not an item")

	r := e.run("doctor")
	line := doctorLine(r.stdout, "keyring items in order")
	for _, want := range []string{"1 items are in an older version's form: old.example", "1 chunk items belong to no credential",
		"1 items cannot be read (erase them with docker logout and log in again): corrupt.example", "doctor --fix"} {
		if !strings.Contains(line, want) {
			t.Errorf("doctor keyring line %q lacks %q", line, want)
		}
	}
	if r.code != 1 {
		t.Errorf("doctor exit %d with a keyring out of order", r.code)
	}
	if r := e.run("doctor", "--fix"); r.code != 1 || !strings.Contains(r.stderr, "found, and repaired what --fix can: ") {
		t.Errorf("doctor --fix: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.run("doctor")
	if line := doctorLine(r.stdout, "keyring items in order"); r.code != 1 || !strings.Contains(line, "corrupt.example") || strings.Contains(line, "old.example") || strings.Contains(line, "chunk") {
		t.Errorf("doctor after --fix: exit %d, line %q; want only the item that cannot be read", r.code, line)
	}
	if err := client.Erase(e.program(), "corrupt.example"); err != nil {
		t.Fatalf("erase corrupt.example: %v", err)
	}
	if r := e.run("doctor"); r.code != 0 {
		t.Errorf("doctor after the logout: exit %d\n%s", r.code, r.stdout)
	}
	list, _ := client.List(e.program())
	if fmt.Sprint(list) != "map[Old.example:u-old kept.example:u-kept]" {
		t.Errorf("after repair list = %v", list)
	}
	labels, _ := e.session.Labels("docker-credential-regcred")
	if len(labels) != 2 || labels["old.example"] != "Registry credentials for Old.example (u-old)" {
		t.Errorf("after repair the keyring holds %q", labels)
	}
}

// TestDoctorShadowedByCurrentDirectory: PATH lookups that find the helper
// relative to the current directory fail with exec.ErrDot in Go programs —
// docker's too — and doctor says so instead of "not found".
func TestDoctorShadowedByCurrentDirectory(t *testing.T) {
	e := newEnv(t, launch.Unlocked)
	e.writeConfig(`{"credsStore": "regcred"}`, 0o600)
	e.vars["PATH"] = ".:/usr/bin:/bin"
	cmd := e.command(helperBin(), "doctor")
	cmd.Dir = binDir
	out, _ := cmd.Output()
	line := doctorLine(string(out), "docker-credential-regcred is on PATH")
	if !strings.HasPrefix(line, "✗ ") || !strings.Contains(line, "found only in the current directory") {
		t.Errorf("doctor with the helper found only through \".\" in PATH: %q\n%s", line, out)
	}
}

// fakeProgram is a directory in e's HOME holding an executable named name
// that does nothing: doctor only looks a client up on PATH.
func fakeProgram(t *testing.T, e *env, name string) string {
	t.Helper()
	dir := filepath.Join(e.session.Dir, "fake-bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := launch.WriteProgram(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFile writes content to path, 0600, creating its directory.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorNamesProvider: on each Secret Service provider doctor names
// the program and its version, as the package manager knows it, and warns
// of exactly that provider's known faults.
func TestDoctorNamesProvider(t *testing.T) {
	tests := []struct {
		provider launch.Provider
		name     string
		version  func() (string, error) // what the system says is installed
		warns    []string               // the start of each warning
	}{
		{launch.GnomeKeyring, "GNOME Keyring", debianVersion("gnome-keyring"), nil},
		{launch.KeePassXC, "KeePassXC", debianVersion("keepassxc"), []string{
			"KeePassXC before 2.7.6 asks a person to confirm every replaced item",
			"KeePassXC serves secrets only while its database is open and unlocked",
			"KeePassXC saves its database in a thread while it serves requests",
			"KeePassXC moves a deleted item to its Recycle Bin and keeps a replaced secret in the entry's history",
			"KeePassXC asks before it lets a program read an item",
		}},
		{launch.KWallet, "KWallet (kwalletd5)", debianVersion("libkf5wallet-bin"), []string{
			"KWallet keeps an item's old label when the item is replaced",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.provider), func(t *testing.T) {
			version, err := tt.version()
			if err != nil {
				t.Fatalf("installed version of %s: %v", tt.provider, err)
			}
			e := newEnvOf(t, tt.provider, launch.Unlocked)
			if r := e.run("configure"); r.code != 0 {
				t.Fatalf("configure: %s", r.stderr)
			}
			r := e.run("doctor")
			want := "✓ Secret Service provider on the bus: " + tt.name + " " + version
			if line := doctorLine(r.stdout, "Secret Service provider"); r.code != 0 || line != want {
				t.Fatalf("doctor: exit %d, line %q; want exit 0 and %q\n%s", r.code, line, want, r.stdout)
			}
			var warns []string
			for _, l := range strings.Split(r.stdout, "\n") {
				if w, ok := strings.CutPrefix(l, "  ! "); ok {
					warns = append(warns, w)
				}
			}
			if len(warns) != len(tt.warns) {
				t.Fatalf("doctor warned %q, want %d warnings", warns, len(tt.warns))
			}
			for i, w := range tt.warns {
				if !strings.HasPrefix(warns[i], w) {
					t.Errorf("warning %d is %q, want it to start %q", i, warns[i], w)
				}
			}
		})
	}
}

// debianVersion returns the upstream version of an installed Debian
// package: 2.7.4 for 2.7.4+dfsg.1-2.
func debianVersion(pkg string) func() (string, error) {
	return func() (string, error) {
		out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
		if err != nil {
			return "", fmt.Errorf("dpkg-query %s: %w", pkg, err)
		}
		v := string(out)
		if i := strings.IndexAny(v, "+-~"); i >= 0 {
			v = v[:i]
		}
		return v, nil
	}
}
