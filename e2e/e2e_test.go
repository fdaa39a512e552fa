// Package e2e_test drives docker-credential-regcred with real clients — the
// docker CLI, crane and go-containerregistry's keychain — against a real
// registry and a real gnome-keyring, all started by the tests.
package e2e_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regcred/regcred/testenv/launch"

	"github.com/regcred/regcred/store/keyring"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/testenv"
)

// binDir holds the built helper and crane, first on every client's PATH.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testenv.MainWithBinaries(m, &binDir, "docker-credential-regcred", "github.com/google/go-containerregistry/cmd/crane"))
}

// world is one user's machine: a keyring, a docker config that points at
// regcred, and a private registry.
type world struct {
	t         testing.TB
	kr        testenv.Keyring    // the keyring under test
	session   *launch.Session    // the Secret Service's, when that is it
	user      *launch.KernelUser // the kernel keyring's user, when that is it
	home      string
	registry  *launch.Registry
	dockerCfg string
	env       map[string]string
}

const (
	user     = "alice"
	password = "wonder:land-Ünïcode-9c2f" // a colon and non-ASCII, as real passwords have
)

// newWorld is a world on a private, unlocked gnome-keyring.
func newWorld(t *testing.T) *world { return newWorldOn(t, "secret-service") }

// keyrings are the keyrings the clients' tests run on: gnome-keyring
// ("secret-service"), the kernel keyring, and the other Secret Service
// providers.
var keyrings = []string{"secret-service", "kernel", string(launch.KeePassXC), string(launch.KWallet)}

// newWorldOn is a world on keyring: a private Secret Service provider, or
// the kernel keyring, of a throw-away user as whom every client then runs,
// as people run them: not as root. KeePassXC runs on its default settings,
// and the world allows what it asks through its dialogs, as a person would.
func newWorldOn(t testing.TB, keyring string) *world {
	t.Helper()
	testenv.Require(t, "docker")
	w := &world{t: t}
	w.user = testenv.NewKernelUser(t)
	switch keyring {
	case "kernel":
		w.kr, w.home, w.env = w.user, w.user.Home, w.user.Env()
	default:
		provider, mode := launch.Provider(keyring), launch.Unlocked
		if keyring == "secret-service" {
			provider = launch.GnomeKeyring
		} else if provider == launch.KeePassXC {
			mode = launch.Defaults
		}
		w.session = testenv.StartProviderAsT(t, provider, mode, w.user)
		w.session.AllowAll()
		w.kr, w.home, w.env = w.session, w.session.Dir, w.session.EnvMap()
	}
	w.registry = testenv.StartRegistry(t, map[string]string{user: password})
	w.dockerCfg = filepath.Join(w.home, ".docker")
	if err := os.MkdirAll(w.dockerCfg, 0o700); err != nil {
		t.Fatal(err)
	}
	w.writeConfig(`{"credsStore":"regcred"}`)
	if w.user != nil {
		if err := os.Chown(w.dockerCfg, w.user.UID, w.user.UID); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(w.dockerCfg, "config.json"), w.user.UID, w.user.UID); err != nil {
			t.Fatal(err)
		}
	}
	w.env["DOCKER_CONFIG"] = w.dockerCfg
	w.env["PATH"] = binDir + string(os.PathListSeparator) + w.env["PATH"]
	return w
}

// own gives what the test wrote into the world's home to its user.
func (w *world) own() {
	w.t.Helper()
	if w.user != nil {
		if err := w.user.Own(w.home); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *world) writeConfig(content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dockerCfg, "config.json"), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) config() string {
	w.t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dockerCfg, "config.json"))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// exec runs a client program in this world and returns its combined output.
func (w *world) exec(stdin string, name string, args ...string) (string, int) {
	w.t.Helper()
	if p := filepath.Join(binDir, name); fileExists(p) {
		name = p // exec resolves names on the test's PATH, not cmd.Env's
	}
	var cmd *exec.Cmd
	if w.user != nil {
		cmd = w.user.Command(w.env, launch.Login, name, args...)
		cmd.Dir = w.home
	} else {
		cmd = exec.Command(name, args...)
		for k, v := range w.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Dir = w.home
	}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		w.t.Fatalf("%s: %v", name, err)
	}
	return string(out), 0
}

func (w *world) helper() client.ProgramFunc {
	return client.NewShellProgramFuncWithEnv(w.wrapped(), &w.env)
}

// wrapped is the helper binary as the world's user runs it.
func (w *world) wrapped() string {
	w.t.Helper()
	return testenv.Wrap(w.t, w.user, filepath.Join(binDir, "docker-credential-regcred"))
}

// onEach runs test once in a world on every keyring, each in a subtest.
func onEach(t *testing.T, test func(t *testing.T, w *world)) {
	for _, k := range keyrings {
		t.Run(k, func(t *testing.T) { test(t, newWorldOn(t, k)) })
	}
}

func (w *world) login(pass string) (string, int) {
	return w.exec(pass+"\n", "docker", "login", w.registry.Host, "-u", user, "--password-stdin")
}

// auths decodes config.json's "auths".
func (w *world) auths() map[string]map[string]any {
	w.t.Helper()
	var cfg struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	if err := json.Unmarshal([]byte(w.config()), &cfg); err != nil {
		w.t.Fatalf("config.json: %v", err)
	}
	return cfg.Auths
}

func TestDockerLoginLogout(t *testing.T) {
	onEach(t, func(t *testing.T, w *world) {
		host := w.registry.Host

		out, code := w.login(password)
		if code != 0 || !strings.Contains(out, "Login Succeeded") {
			t.Fatalf("docker login: exit %d\n%s", code, out)
		}
		if auths := w.auths(); len(auths) != 1 || auths[host] == nil || len(auths[host]) != 0 {
			t.Errorf("config.json auths = %v, want only %q: {}", auths, host)
		}
		if strings.Contains(w.config(), password) || strings.Contains(w.config(), `"auth"`) {
			t.Errorf("config.json holds a secret:\n%s", w.config())
		}
		c, err := client.Get(w.helper(), host)
		if err != nil || c.Username != user || c.Secret != password {
			t.Fatalf("keyring after login: %+v, %v", c, err)
		}

		// A wrong password fails and changes nothing.
		before, _ := w.kr.Items(keyring.Service)
		cfgBefore := w.config()
		out, code = w.login("not-the-password")
		if code == 0 {
			t.Errorf("docker login with a wrong password succeeded:\n%s", out)
		}
		c, err = client.Get(w.helper(), host)
		if err != nil || c.Secret != password {
			t.Errorf("after a failed login the keyring has %+v, %v", c, err)
		}
		if after, _ := w.kr.Items(keyring.Service); fmt.Sprint(after) != fmt.Sprint(before) || w.config() != cfgBefore {
			t.Errorf("failed login changed the keyring (%v -> %v) or config", before, after)
		}

		out, code = w.exec("", "docker", "logout", host)
		if code != 0 {
			t.Fatalf("docker logout: exit %d\n%s", code, out)
		}
		if _, err := client.Get(w.helper(), host); !credentials.IsErrCredentialsNotFound(err) {
			t.Errorf("after logout get = %v, want not found", err)
		}
		if items, _ := w.kr.Items(keyring.Service); len(items) != 0 {
			t.Errorf("after logout the keyring still holds %q", items)
		}
		if auths := w.auths(); len(auths) != 0 {
			t.Errorf("after logout config.json auths = %v", auths)
		}
		testenv.NoPlaintext(t, w.kr, password)
	})
}

func TestDockerLoginWrongPasswordStoresNothing(t *testing.T) {
	onEach(t, func(t *testing.T, w *world) {
		if out, code := w.login("not-the-password"); code == 0 {
			t.Fatalf("login with a wrong password succeeded:\n%s", out)
		}
		if l, err := client.List(w.helper()); err != nil || len(l) != 0 {
			t.Errorf("list after a failed first login = %v, %v", l, err)
		}
	})
}

func TestCranePushPullThroughHelper(t *testing.T) {
	onEach(t, func(t *testing.T, w *world) {
		image := w.registry.Host + "/janedoe/private:v1"
		if out, code := w.login(password); code != 0 {
			t.Fatalf("docker login: %s", out)
		}
		layer := filepath.Join(w.home, "layer.tar")
		testenv.WriteLayer(t, layer)
		if w.user != nil {
			if err := os.Chown(layer, w.user.UID, w.user.UID); err != nil {
				t.Fatal(err)
			}
		}
		if out, code := w.exec("", "crane", "append", "--insecure", "-f", layer, "-t", image); code != 0 {
			t.Fatalf("crane push with the helper's credentials: exit %d\n%s", code, out)
		}
		if out, code := w.exec("", "crane", "pull", "--insecure", image, filepath.Join(w.home, "out.tar")); code != 0 {
			t.Fatalf("crane pull with the helper's credentials: exit %d\n%s", code, out)
		}
		if out, code := w.exec("", "crane", "auth", "get", w.registry.Host); code != 0 || !strings.Contains(out, `"Secret":"`+password+`"`) {
			t.Errorf("crane auth get: exit %d", code)
		}

		// Without credentials the registry refuses the pull.
		if out, code := w.exec("", "docker", "logout", w.registry.Host); code != 0 {
			t.Fatalf("docker logout: %s", out)
		}
		out, code := w.exec("", "crane", "pull", "--insecure", image, filepath.Join(w.home, "out2.tar"))
		if code == 0 || !strings.Contains(out, "UNAUTHORIZED") {
			t.Errorf("crane pull without credentials: exit %d\n%s", code, out)
		}
	})
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestConcurrentDockerLogins runs two docker logins to different registries
// at once: both must land.
func TestConcurrentDockerLogins(t *testing.T) {
	onEach(t, func(t *testing.T, w *world) {
		second := testenv.StartRegistry(t, map[string]string{user: password})
		hosts := []string{w.registry.Host, second.Host}
		done := make(chan string, 2)
		for _, h := range hosts {
			go func() {
				out, code := w.exec(password+"\n", "docker", "login", h, "-u", user, "--password-stdin")
				if code != 0 {
					done <- fmt.Sprintf("docker login %s: exit %d\n%s", h, code, out)
					return
				}
				done <- ""
			}()
		}
		for range hosts {
			if msg := <-done; msg != "" {
				t.Error(msg)
			}
		}
		for _, h := range hosts {
			c, err := client.Get(w.helper(), h)
			if err != nil || c.Secret != password {
				t.Errorf("after concurrent logins %s = %+v, %v", h, c, err)
			}
		}
		// Both are usable by a client: with a credsStore, lookups go through the
		// helper, not config.json. (docker itself rewrites config.json without
		// a lock, so one of the two "HOST": {} bookkeeping entries can be lost:
		// docker's race, not the helper's; see docs/RELIABILITY.md.)
		for _, h := range hosts {
			out, code := w.exec("", "crane", "auth", "get", h)
			if code != 0 || !strings.Contains(out, `"Secret":"`+password+`"`) {
				t.Errorf("crane auth get %s after concurrent logins: exit %d", h, code)
			}
		}
	})
}
