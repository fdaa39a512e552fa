package e2e_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/testenv"
)

// TestInstallScript runs install.sh into a temporary PREFIX and HOME: docker
// login then works through the keyring, kubectl sees the plugin, a second
// run changes nothing, and --uninstall restores docker's previous set-up.
func TestInstallScript(t *testing.T) {
	testenv.Require(t, "sh", "docker", "kubectl")
	root, err := launch.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	prefix := filepath.Join(w.session.Dir, "prefix")
	bindir := filepath.Join(prefix, "bin")
	// No DOCKER_CONFIG: install.sh must configure ~/.docker, as for a user.
	delete(w.env, "DOCKER_CONFIG")
	dockerCfg := filepath.Join(w.session.Dir, ".docker", "config.json")
	os.MkdirAll(filepath.Dir(dockerCfg), 0o700)
	os.WriteFile(dockerCfg, []byte(`{"credsStore":"secretservice","auths":{}}`), 0o600)
	w.env["PATH"] = strings.Join(withoutDir(filepath.SplitList(os.Getenv("PATH")), binDir), string(os.PathListSeparator))
	install := w.installer(root, prefix)
	out, code := install()
	if code != 0 {
		t.Fatalf("install.sh: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "is not on PATH") {
		t.Errorf("install.sh did not warn that %s is not on PATH:\n%s", bindir, out)
	}
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if fi, err := os.Stat(filepath.Join(bindir, b)); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("%s: %v %v", b, fi, err)
		}
	}
	var cfg map[string]any
	b, _ := os.ReadFile(dockerCfg)
	if json.Unmarshal(b, &cfg) != nil || cfg["credsStore"] != "regcred" {
		t.Fatalf("config.json after install: %s", b)
	}

	// With PREFIX/bin on PATH, docker logs in through the keyring and kubectl sees the plugin.
	w.env["PATH"] = bindir + string(os.PathListSeparator) + w.env["PATH"]
	if out, code := w.login(password); code != 0 {
		t.Fatalf("docker login after install: %s", out)
	}
	if out, code := w.exec("", filepath.Join(bindir, "docker-credential-regcred"), "ls"); code != 0 || !strings.Contains(out, w.registry.Host) {
		t.Errorf("ls after login: %s", out)
	}
	if out, _ := w.exec("", "kubectl", "plugin", "list"); !strings.Contains(out, filepath.Join(bindir, "kubectl-regcred")) {
		t.Errorf("kubectl plugin list does not show kubectl-regcred:\n%s", out)
	}

	// A second run is a no-op.
	stamp := func() string {
		var s []string
		for _, f := range []string{filepath.Join(bindir, "docker-credential-regcred"), filepath.Join(bindir, "kubectl-regcred"), dockerCfg} {
			fi, _ := os.Stat(f)
			s = append(s, fi.ModTime().String())
		}
		return strings.Join(s, ",")
	}
	before := stamp()
	if out, code := install(); code != 0 || strings.Count(out, "is up to date") != 2 || !strings.Contains(out, "nothing changed") {
		t.Errorf("second install.sh: exit %d\n%s", code, out)
	}
	if stamp() != before {
		t.Error("the second install.sh touched the binaries or config.json")
	}

	if out, code := install("--uninstall"); code != 0 {
		t.Fatalf("install.sh --uninstall: %s", out)
	}
	for _, b := range []string{"docker-credential-regcred", "kubectl-regcred"} {
		if _, err := os.Stat(filepath.Join(bindir, b)); err == nil {
			t.Errorf("%s still installed", b)
		}
	}
	b, _ = os.ReadFile(dockerCfg)
	if json.Unmarshal(b, &cfg) != nil || cfg["credsStore"] != "secretservice" {
		t.Errorf("config.json after uninstall: %s", b)
	}
}

// installer returns a function that runs install.sh --prefix prefix as the
// world's user. The user's module cache and GOPATH are this package run's
// (the first run downloads the modules and the Go release go.mod names; later
// ones reuse them). Its build cache is this machine's, as a developer who has
// built Go before has one (usersBuildCache).
func (w *world) installer(root, prefix string) func(args ...string) (string, int) {
	w.t.Helper()
	cache := filepath.Join(binDir, "install-go")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := w.user.Own(cache); err != nil {
		w.t.Fatal(err)
	}
	for v, d := range map[string]string{"GOMODCACHE": "mod", "GOPATH": "path"} {
		w.env[v] = filepath.Join(cache, d)
	}
	w.env["GOCACHE"] = usersBuildCache(w.t, w.user)
	w.env["GOPROXY"] = goEnv("GOPROXY")
	// The clone is root's: git (which go build asks for the commit) would
	// refuse another user's repository.
	w.env["GIT_CONFIG_COUNT"], w.env["GIT_CONFIG_KEY_0"], w.env["GIT_CONFIG_VALUE_0"] = "1", "safe.directory", root
	return func(args ...string) (string, int) {
		return w.exec("", "sh", append([]string{filepath.Join(root, "install.sh"), "--prefix", prefix}, args...)...)
	}
}

// usersBuildCache gives the user a Go build cache that holds what this
// machine's already does: the same directory layout, the user's, with each
// entry hard-linked to root's. make ci's release build (make dist) has
// compiled every package install.sh compiles, with the same toolchain and
// flags, so the user's builds compile nothing; built cold, they took 80 to
// 110 s of the package's time on 2 cores. The user can add entries and
// unlink its links, but not change root's files, which stay root's (a file
// others may write is not linked). It lives outside install-go, which Own
// walks, and goes with the test. Where root's cache is on another file
// system, the user starts with an empty one.
func usersBuildCache(t testing.TB, u *launch.KernelUser) string {
	t.Helper()
	dir := filepath.Join(binDir, "install-gocache-"+u.Name())
	t.Cleanup(func() { os.RemoveAll(dir) })
	mine := goEnv("GOCACHE")
	err := filepath.WalkDir(mine, func(p string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p != mine {
			return nil // trimmed meanwhile by a go command beside this test
		} else if err != nil {
			return err
		}
		rel, err := filepath.Rel(mine, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			if err := os.Mkdir(to, 0o755); err != nil {
				return err
			}
			return os.Chown(to, u.UID, u.UID)
		case !d.Type().IsRegular() || rel == "trim.txt":
			return nil // the user's go keeps its own trim time
		}
		fi, err := d.Info()
		if err == nil && fi.Mode().Perm()&0o022 == 0 { // one others could write through the link stays root's alone
			err = os.Link(p, to)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	})
	if errors.Is(err, syscall.EXDEV) {
		t.Logf("root's Go build cache %s is on another file system: the user's build starts cold", mine)
	} else if err != nil {
		t.Fatalf("the user's Go build cache: %v", err)
	}
	return dir
}

// goEnv is one of this machine's go env settings.
func goEnv(name string) string {
	out, _ := exec.Command("go", "env", name).Output()
	return strings.TrimSpace(string(out))
}

func withoutDir(dirs []string, drop string) []string {
	var out []string
	for _, d := range dirs {
		if d != drop {
			out = append(out, d)
		}
	}
	return out
}
