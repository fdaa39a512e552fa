package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/testenv"
	"github.com/regcred/regcred/testenv/launch"
)

// wslWorld is a world in a stand-in for WSL 2 (launch.WSL): a user whose
// Windows programs run under Wine through a binfmt_misc handler, with
// WSL's markers in the environment and its cmd.exe and wslpath on PATH.
type wslWorld struct {
	*world
	wsl *launch.WSL
	dir string // the test's directory, which the user can read
}

// newWSLWorld is a kernel-keyring world of a throw-away user, in WSL:
// nothing chosen yet (no REGCRED_BACKEND), interop on.
func newWSLWorld(t testing.TB) *wslWorld {
	t.Helper()
	if err := launch.WineAvailable(); err != nil {
		testenv.Unavailable(t, err)
	}
	w := newWorldOn(t, "kernel")
	testenv.RegisterUser(t, w.user) // Wine names its Windows user after it
	dir, err := os.MkdirTemp("", "regcred-wsl-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ws, err := launch.StartWSL(dir, w.user)
	if err != nil {
		testenv.Unavailable(t, err)
	}
	t.Cleanup(ws.Stop)
	delete(w.env, "REGCRED_BACKEND")
	for k, v := range ws.Env() {
		w.env[k] = v
	}
	w.env["PATH"] += string(os.PathListSeparator) + ws.Bin // as WSL appends Windows' PATH
	return &wslWorld{world: w, wsl: ws, dir: dir}
}

// buildWindows builds regcred's Windows build where the user can read it.
func (w *wslWorld) buildWindows() string {
	w.t.Helper()
	exe, err := launch.BuildWindows(filepath.Join(w.dir, "build"), "docker-credential-regcred")
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.Chmod(filepath.Dir(exe), 0o755); err != nil {
		w.t.Fatal(err)
	}
	return exe
}

// installWindows puts the Windows build where install.sh puts it, under
// the Windows user's %LOCALAPPDATA%, and returns that path.
func (w *wslWorld) installWindows(exe string) string {
	w.t.Helper()
	dst := filepath.Join(w.wsl.Wine.LocalAppData(), "Programs", "regcred", "docker-credential-regcred.exe")
	b, err := os.ReadFile(exe)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(dst), 0o755)
	}
	if err == nil {
		err = launch.WriteProgram(dst, b, 0o755)
	}
	if err == nil {
		err = w.user.Own(w.wsl.Wine.LocalAppData())
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return dst
}

// windows runs the Windows build on the Windows side (under Wine, not
// through interop).
func (w *wslWorld) windows(exe, stdin string, args ...string) launch.Result {
	w.t.Helper()
	r, err := w.wsl.Wine.Run(exe, nil, stdin, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// recorded is the keyring choice regcred recorded for the user.
func (w *wslWorld) recorded() (backend, windows string) {
	w.t.Helper()
	var c struct{ Backend, Windows string }
	b, err := os.ReadFile(filepath.Join(w.user.Home, ".config", "regcred", "config.json"))
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		w.t.Fatalf("the recorded choice: %v", err)
	}
	return c.Backend, c.Windows
}

// kernelKeys fails the test if the user's kernel keyring holds anything
// of regcred's: under WSL every credential goes to Windows.
func (w *wslWorld) kernelKeys() {
	w.t.Helper()
	if items, err := w.user.Items(keyring.Service); err != nil || len(items) != 0 {
		w.t.Errorf("the kernel keyring holds %q (%v); want nothing there", items, err)
	}
}

// TestWSLKeepsCredentialsInWindows (issue 31): in WSL with interop, the
// first command chooses the Windows Credential Manager, through regcred's
// Windows build; a docker login in WSL is read on the Windows side and
// the reverse, a 3 KB token round-trips, erase works from either side;
// with interop off or its server gone every call fails in one line (get
// answers docker's not-found and says why on stderr) and nothing is
// written anywhere else, and all works again when interop is back; doctor
// says which.
func TestWSLKeepsCredentialsInWindows(t *testing.T) {
	w := newWSLWorld(t)
	exe := w.installWindows(w.buildWindows())
	helper := func() client.ProgramFunc { return w.helper() }
	var recorded string // the Windows build's path, as Windows gave it
	const notFound = "credentials not found in native keychain\n"

	if !t.Run("detection chooses the Windows keyring", func(t *testing.T) {
		w.t = t
		if out, code := w.exec("", "docker-credential-regcred", "list"); code != 0 || strings.TrimSpace(out) != "{}" {
			t.Fatalf("list: exit %d\n%s", code, out)
		}
		if backend, path := w.recorded(); backend != "windows" || !sameFile(path, exe) {
			w.env["REGCRED_BACKEND"] = "windows"
			out, _ := w.exec("", "docker-credential-regcred", "list")
			delete(w.env, "REGCRED_BACKEND")
			t.Fatalf("recorded %q, %q; want windows, %s (the Windows keyring named: %s)", backend, path, exe, out)
		}
		_, recorded = w.recorded()
	}) {
		return
	}

	t.Run("docker login in WSL, get on the Windows side", func(t *testing.T) {
		w.t = t
		if out, code := w.login(password); code != 0 {
			t.Fatalf("docker login: exit %d\n%s", code, out)
		}
		r := w.windows(exe, w.registry.Host, "get")
		var c credentials.Credentials
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil || c.Username != user || c.Secret != password {
			t.Errorf("get on the Windows side: exit %d %q %q", r.Code, r.Stdout, r.Stderr)
		}
		w.kernelKeys()
		testenv.NoPlaintext(t, w.user, password)
	})

	t.Run("store on the Windows side, get in WSL", func(t *testing.T) {
		w.t = t
		in, _ := json.Marshal(credentials.Credentials{ServerURL: "win.example", Username: "bob", Secret: "from-windows"})
		if r := w.windows(exe, string(in), "store"); r.Code != 0 {
			t.Fatalf("store on the Windows side: exit %d %s%s", r.Code, r.Stdout, r.Stderr)
		}
		if c, err := client.Get(helper(), "win.example"); err != nil || c.Username != "bob" || c.Secret != "from-windows" {
			t.Errorf("get in WSL: %+v, %v", c, err)
		}
		if l, err := client.List(helper()); err != nil || l["win.example"] != "bob" || l[w.registry.Host] != user {
			t.Errorf("list in WSL: %v, %v", l, err)
		}
	})

	t.Run("a 3 KB token round-trips", func(t *testing.T) {
		w.t = t
		token := strings.Repeat("eyJhbGciOiJSUzI1NiJ9.", 150)[:3000]
		if err := client.Store(helper(), &credentials.Credentials{ServerURL: "cloud.example", Username: "<token>", Secret: token}); err != nil {
			t.Fatal(err)
		}
		if c, err := client.Get(helper(), "cloud.example"); err != nil || c.Secret != token || c.Username != "<token>" {
			t.Errorf("get in WSL: %d bytes, %v", len(c.Secret), err)
		}
		var c credentials.Credentials
		if r := w.windows(exe, "cloud.example", "get"); r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &c) != nil || c.Secret != token {
			t.Errorf("get on the Windows side: exit %d, %d bytes", r.Code, len(c.Secret))
		}
		// The Windows build chunked it: Credential Manager's items are
		// smaller than 3 KB.
		if items, err := w.wsl.Wine.Items(keyring.Service); err != nil || len(items) < 3+2 {
			t.Errorf("Credential Manager holds %q (%v); want the token in chunks beside the two others", items, err)
		}
	})

	t.Run("erase from either side", func(t *testing.T) {
		w.t = t
		if out, code := w.exec("", "docker", "logout", w.registry.Host); code != 0 {
			t.Fatalf("docker logout: exit %d\n%s", code, out)
		}
		if r := w.windows(exe, w.registry.Host, "get"); r.Code != 1 || r.Stdout != notFound {
			t.Errorf("get on the Windows side after a logout in WSL: exit %d %q", r.Code, r.Stdout)
		}
		for _, server := range []string{"win.example", "cloud.example"} {
			if r := w.windows(exe, server, "erase"); r.Code != 0 {
				t.Fatalf("erase %s on the Windows side: %s", server, r.Stdout)
			}
			if _, err := client.Get(helper(), server); !credentials.IsErrCredentialsNotFound(err) {
				t.Errorf("get %s in WSL after an erase on the Windows side: %v", server, err)
			}
		}
		if items, err := w.wsl.Wine.Items(keyring.Service); err != nil || len(items) != 0 {
			t.Errorf("Credential Manager holds %q (%v) after every erase", items, err)
		}
	})

	// unreachable checks every verb's answer while the Windows keyring is
	// out of reach for the reason want says.
	unreachable := func(t *testing.T, want string) {
		t.Helper()
		store := w.runHelper(storeRequest("cloud.example", "carol", "never-written"), "store")
		if store.code != 1 || store.stdout != want+"\n" {
			t.Errorf("store: exit %d, stdout %q; want 1, %q", store.code, store.stdout, want)
		}
		get := w.runHelper("cloud.example", "get")
		if get.code != 1 || get.stdout != notFound || get.stderr != `docker-credential-regcred: answering "not found" for cloud.example: `+want+"\n" {
			t.Errorf("get: exit %d, stdout %q, stderr %q", get.code, get.stdout, get.stderr)
		}
		for _, verb := range []string{"list", "erase"} {
			if r := w.runHelper("cloud.example", verb); r.code != 1 || r.stdout != want+"\n" {
				t.Errorf("%s: exit %d, stdout %q", verb, r.code, r.stdout)
			}
		}
		if out, code := w.login(password); code == 0 || !strings.Contains(out, want) {
			t.Errorf("docker login: exit %d\n%s", code, out)
		}
		w.kernelKeys()
		testenv.NoPlaintext(t, w.user, "never-written", password)
		if backend, _ := w.recorded(); backend != "windows" {
			t.Errorf("the choice changed to %q", backend)
		}
	}
	works := func(t *testing.T) {
		t.Helper()
		if err := client.Store(helper(), &credentials.Credentials{ServerURL: "back.example", Username: "dan", Secret: "back"}); err != nil {
			t.Fatalf("store once interop is back: %v", err)
		}
		if err := client.Erase(helper(), "back.example"); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("interop switched off, then on", func(t *testing.T) {
		w.t = t
		if err := w.wsl.SetInterop(false); err != nil {
			t.Fatal(err)
		}
		unreachable(t, "WSL interop is off, so Windows programs cannot run from here: turn it on ([interop] enabled=true in /etc/wsl.conf, then wsl --shutdown; or for now: sudo sh -c 'echo 1 > /proc/sys/fs/binfmt_misc/WSLInterop')")
		doctor, _ := w.exec("", "docker-credential-regcred", "doctor")
		if !strings.Contains(doctor, "✗ WSL interop runs Windows programs: WSL interop is off") || !strings.Contains(doctor, "- regcred's Windows build: "+recorded+" (not checked)") {
			t.Errorf("doctor with interop off:\n%s", doctor)
		}
		if err := w.wsl.SetInterop(true); err != nil {
			t.Fatal(err)
		}
		works(t)
	})

	t.Run("interop server gone, then back", func(t *testing.T) {
		w.t = t
		w.wsl.StopInterop()
		unreachable(t, "WSL's interop server is out of reach (WSL_INTEROP is unset or stale, and no live socket is in /run/WSL): run this from a WSL shell, or pass WSL_INTEROP on to cron jobs and services")
		if err := w.wsl.ServeInterop(); err != nil {
			t.Fatal(err)
		}
		works(t)
	})

	t.Run("without WSL_INTEROP, as from cron", func(t *testing.T) {
		w.t = t
		delete(w.env, "WSL_INTEROP")
		works(t)
		w.env["WSL_INTEROP"] = w.wsl.Socket
	})

	t.Run("the secret crosses on stdin only", func(t *testing.T) {
		w.t = t
		testenv.Require(t, "strace")
		const secret = "crosses-on-stdin-only"
		trace := filepath.Join(w.home, "execve.log")
		out, code := w.exec(storeRequest("argv.example", "eve", secret), "strace", "-f", "-qq", "-e", "trace=execve", "-s", "65535", "-xx", "-o", trace,
			filepath.Join(binDir, "docker-credential-regcred"), "store")
		if code != 0 {
			t.Fatalf("store under strace: exit %d\n%s", code, out)
		}
		log, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(log), `\x77\x69\x6e\x65`) { // "wine": the Windows build ran, under the trace
			t.Fatalf("strace saw no Windows program run:\n%s", log)
		}
		var hex strings.Builder
		for _, c := range []byte(secret) {
			fmt.Fprintf(&hex, "\\x%02x", c)
		}
		if strings.Contains(string(log), hex.String()) || strings.Contains(string(log), secret) {
			t.Errorf("the secret is on a command line:\n%s", log)
		}
		if err := client.Erase(helper(), "argv.example"); err != nil {
			t.Fatal(err)
		}
		testenv.NoPlaintext(t, w.user, secret)
	})

	t.Run("a Windows side that does not answer is bounded by REGCRED_TIMEOUT", func(t *testing.T) {
		w.t = t
		if err := w.wsl.Wine.Pause(); err != nil {
			t.Fatal(err)
		}
		defer w.wsl.Wine.Resume()
		w.env["REGCRED_TIMEOUT"] = "2s"
		defer delete(w.env, "REGCRED_TIMEOUT")
		start := time.Now()
		r := w.runHelper("", "list")
		if took := time.Since(start); r.code != 1 || r.stdout != "the Windows Credential Manager did not answer in time (through WSL interop); raise REGCRED_TIMEOUT (waited 2s)\n" || took > 15*time.Second {
			t.Errorf("list with Windows paused: exit %d, stdout %q, after %v", r.code, r.stdout, took)
		}
		if err := w.wsl.Wine.Resume(); err != nil {
			t.Fatal(err)
		}
		works(t)
	})

	t.Run("doctor", func(t *testing.T) {
		w.t = t
		doctor, _ := w.exec("", "docker-credential-regcred", "doctor")
		for _, line := range []string{
			"✓ keyring chosen: Windows Credential Manager (through WSL interop) (recorded in ",
			"✓ WSL interop runs Windows programs\n",
			"✓ regcred's Windows build: " + recorded + "\n",
			"✓ Windows Credential Manager answers\n",
			"✓ keyring items in order\n",
		} {
			if !strings.Contains(doctor, line) {
				t.Errorf("doctor lacks %q:\n%s", line, doctor)
			}
		}
		w.env["REGCRED_BACKEND"] = "kernel"
		defer delete(w.env, "REGCRED_BACKEND")
		doctor, _ = w.exec("", "docker-credential-regcred", "doctor")
		if !strings.Contains(doctor, "under WSL the kernel keyring lives in a VM Windows stops at `wsl --shutdown`") ||
			!strings.Contains(doctor, "configure --backend windows") {
			t.Errorf("doctor on the kernel keyring in WSL:\n%s", doctor)
		}
	})

	t.Run("interop off at the first command: the kernel keyring, doctor says what is lost", func(t *testing.T) {
		w.t = t
		fresh := filepath.Join(w.user.Home, "fresh-config")
		if err := os.Mkdir(fresh, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := w.user.Own(fresh); err != nil {
			t.Fatal(err)
		}
		old := w.env["XDG_CONFIG_HOME"]
		w.env["XDG_CONFIG_HOME"] = fresh
		defer func() { w.env["XDG_CONFIG_HOME"] = old }()
		if err := w.wsl.SetInterop(false); err != nil {
			t.Fatal(err)
		}
		defer w.wsl.SetInterop(true)
		if out, code := w.exec("", "docker-credential-regcred", "list"); code != 0 {
			t.Fatalf("list: exit %d\n%s", code, out)
		}
		b, _ := os.ReadFile(filepath.Join(fresh, "regcred", "config.json"))
		if !strings.Contains(string(b), `"backend":"kernel"`) {
			t.Errorf("recorded %s; want the kernel keyring", b)
		}
		doctor, _ := w.exec("", "docker-credential-regcred", "doctor")
		if !strings.Contains(doctor, "✓ kernel keyring answers\n  ! under WSL the kernel keyring lives in a VM Windows stops at `wsl --shutdown`") ||
			!strings.Contains(doctor, "turn WSL interop on ([interop] enabled=true in /etc/wsl.conf), then run ./install.sh") {
			t.Errorf("doctor on the kernel keyring, interop off:\n%s", doctor)
		}
	})
}

// runHelper runs the helper binary as the world's user and returns what
// it did, stdout and stderr apart.
func (w *world) runHelper(stdin string, args ...string) result {
	w.t.Helper()
	r, err := launch.Run(w.wrapped(), w.env, stdin, args...)
	if err != nil {
		w.t.Fatal(err)
	}
	return result{r.Stdout, r.Stderr, r.Code}
}

// result is what one helper process did.
type result struct {
	stdout, stderr string
	code           int
}

func storeRequest(server, username, secret string) string {
	b, _ := json.Marshal(credentials.Credentials{ServerURL: server, Username: username, Secret: secret})
	return string(b)
}

// sameFile reports whether paths a and b name one file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// TestInstallScriptInWSL (issue 31): install.sh inside WSL installs the
// Windows build under the Windows user's %LOCALAPPDATA% (asked of Windows
// through interop), chooses the Windows keyring and moves there what the
// kernel keyring held; a second run changes nothing; --uninstall removes
// the Windows build and its directory — nothing of regcred's files is
// left on the Windows side — and says which credentials the Credential
// Manager still keeps (the user's, as a keyring keeps them on Linux).
func TestInstallScriptInWSL(t *testing.T) {
	testenv.Require(t, "sh", "docker")
	root, err := launch.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	w := newWSLWorld(t)
	// An earlier regcred, without the Windows build, used the kernel keyring.
	if out, code := w.exec("", "docker-credential-regcred", "configure", "--backend", "kernel"); code != 0 {
		t.Fatalf("configure --backend kernel: %s", out)
	}
	if err := client.Store(w.helper(), &credentials.Credentials{ServerURL: "old.example", Username: "erin", Secret: "kept-in-the-kernel"}); err != nil {
		t.Fatal(err)
	}
	prefix := filepath.Join(w.user.Home, "prefix")
	w.env["PATH"] = strings.Join(withoutDir(filepath.SplitList(w.env["PATH"]), binDir), string(os.PathListSeparator))
	install := w.installer(root, prefix)
	installed := filepath.Join(w.wsl.Wine.LocalAppData(), "Programs", "regcred", "docker-credential-regcred.exe")

	out, code := install()
	if code != 0 || !strings.Contains(out, "installed ") || !strings.Contains(out, "/Programs/regcred/docker-credential-regcred.exe") ||
		!strings.Contains(out, "moved 1 credential(s) from the kernel keyring to the Windows Credential Manager (through WSL interop)") {
		t.Fatalf("install.sh in WSL: exit %d\n%s", code, out)
	}
	if fi, err := os.Stat(installed); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("the Windows build at %s: %v %v", installed, fi, err)
	}
	if backend, path := w.recorded(); backend != "windows" || !sameFile(path, installed) {
		t.Errorf("recorded %q, %q", backend, path)
	}
	if r := w.windows(installed, "old.example", "get"); r.Code != 0 || !strings.Contains(r.Stdout, "kept-in-the-kernel") {
		t.Errorf("the kernel keyring's credential on the Windows side: exit %d %q", r.Code, r.Stdout)
	}
	w.kernelKeys()

	if out, code := install(); code != 0 || !strings.Contains(out, "docker-credential-regcred.exe is up to date") {
		t.Errorf("second install.sh: exit %d\n%s", code, out)
	}

	out, code = install("--uninstall")
	if code != 0 || !strings.Contains(out, "removed ") || !strings.Contains(out, `the Windows Credential Manager keeps the credentials regcred stored ({"old.example":"erin"})`) {
		t.Fatalf("install.sh --uninstall: exit %d\n%s", code, out)
	}
	var left []string
	filepath.WalkDir(filepath.Join(w.wsl.Wine.Prefix, "drive_c"), func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() != w.user.Name() && strings.Contains(strings.ToLower(d.Name()), "regcred") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("install.sh --uninstall left on the Windows side: %q", left)
	}
}

// BenchmarkWSLInterop: get and store through the stand-in for WSL's
// interop (the Windows build under Wine, run through binfmt_misc) against
// the kernel keyring, each a whole helper process as docker runs it:
//
//	REGCRED_E2E=1 go test -run '^$' -bench WSLInterop -benchtime 20x ./e2e/
func BenchmarkWSLInterop(b *testing.B) {
	w := newWSLWorld(b)
	w.installWindows(w.buildWindows())
	// The Windows keyring as recorded by the first command (with the
	// build's path), the kernel keyring named for each process.
	for _, keyring := range []string{"windows", "kernel"} {
		if keyring == "kernel" {
			w.env["REGCRED_BACKEND"] = keyring
		}
		if err := client.Store(w.helper(), &credentials.Credentials{ServerURL: "bench.example", Username: "u", Secret: "s3cret"}); err != nil {
			b.Fatal(err)
		}
		b.Run(keyring+"/get", func(b *testing.B) {
			for b.Loop() {
				if _, err := client.Get(w.helper(), "bench.example"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(keyring+"/store", func(b *testing.B) {
			for b.Loop() {
				if err := client.Store(w.helper(), &credentials.Credentials{ServerURL: "bench.example", Username: "u", Secret: "s3cret"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
