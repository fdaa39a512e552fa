// Package testenv starts the real components regcred's tests run against —
// a private D-Bus session bus, a gnome-keyring Secret Service on it — and
// builds the project's binaries. It is imported only by tests.
//
// Under CI=true a missing component is a test failure, never a skip.
package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// UnlockPassword is the password the test keyrings are created with.
const UnlockPassword = "regcred-test-keyring"

// InCI reports whether the tests run under CI, where nothing may be
// skipped: CI set to anything but "", "0" or "false" (CI systems say
// "true", "1" or their own name).
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// Require skips the test when a program is missing, or fails it under CI.
func Require(tb testing.TB, programs ...string) {
	tb.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			hint := "run `make deps` as root, or install it"
			if p == "kubectl" {
				hint = "`make test` puts the one scripts/k8s-tools.sh builds first on PATH"
			}
			Unavailable(tb, fmt.Errorf("%s not found on PATH (%s)", p, hint))
		}
	}
}

// Unavailable reports that a real component could not be had: a failure
// under CI, a skip elsewhere.
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("required component unavailable under CI=true: %v", err)
	}
	tb.Skipf("component unavailable: %v", err)
}

// KeyringMode says how the Secret Service is set up.
type KeyringMode int

const (
	// Unlocked is a normal desktop keyring: a login collection, unlocked.
	Unlocked KeyringMode = iota
	// NoLogin is gnome-keyring started without --unlock, as on a headless
	// machine: there is no login collection.
	NoLogin
	// BusOnly is a session bus with no Secret Service provider on it.
	BusOnly
	// Locked is KeePassXC or KWallet with its database or wallet closed:
	// its collection unlocks only through a prompt nobody here answers.
	Locked
)

// Session is a private session bus, optionally with a Secret Service
// provider on it, living in its own directory (which is also its HOME).
type Session struct {
	Dir      string   // HOME and XDG dirs of the session
	Address  string   // DBUS_SESSION_BUS_ADDRESS
	Provider Provider // the Secret Service on the bus, unless BusOnly
	bus      *exec.Cmd
	keyring  *exec.Cmd
}

// Provider names a Secret Service provider the tests run.
type Provider string

// The providers.
const (
	GnomeKeyring Provider = "gnome-keyring"
	KeePassXC    Provider = "keepassxc"
	KWallet      Provider = "kwallet"
)

// Providers are every provider the provider tests run on.
var Providers = []Provider{GnomeKeyring, KeePassXC, KWallet}

// busConfig is a session bus with no service activation: nothing starts
// unless a test starts it, so "no provider" really means no provider.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <policy context="default">
    <!-- Throw-away users (see KernelUser) may connect to this private bus. -->
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <!-- The stock session bus's limits (session.conf): with dbus-daemon's
       built-in defaults gnome-keyring aborts after ~1500 client processes. -->
  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_incomplete_connections">10000</limit>
  <limit name="max_connections_per_user">100000</limit>
  <limit name="max_names_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>
  <limit name="max_replies_per_connection">50000</limit>
</busconfig>
`

// StartSession starts a private bus and, unless mode is BusOnly,
// gnome-keyring-daemon on it. dir must be a fresh directory.
func StartSession(dir string, mode KeyringMode) (*Session, error) {
	return StartProvider(dir, GnomeKeyring, mode)
}

// providerPrograms are what each provider needs, with its Debian package.
var providerPrograms = map[Provider][][2]string{
	GnomeKeyring: {{"gnome-keyring-daemon", "gnome-keyring"}},
	KeePassXC:    {{"keepassxc", "keepassxc"}, {"keepassxc-cli", "keepassxc"}},
	KWallet:      {{"kwalletd5", "libkf5wallet-bin"}},
}

// StartProvider starts a private bus and, unless mode is BusOnly, the
// provider on it (only gnome-keyring knows modes other than Unlocked).
// dir must be a fresh directory.
func StartProvider(dir string, provider Provider, mode KeyringMode) (*Session, error) {
	programs := [][2]string{{"dbus-daemon", "dbus"}}
	if mode != BusOnly {
		programs = append(programs, providerPrograms[provider]...)
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p[0]); err != nil {
			return nil, fmt.Errorf("%s not found on PATH (Debian package %s; `make deps` installs it as root)", p[0], p[1])
		}
	}
	s := &Session{Dir: dir, Provider: provider}
	for _, d := range []string{".local/share/keyrings", ".config", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "run", "bus")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, busConfig, sock), 0o600); err != nil {
		return nil, err
	}
	s.bus = exec.Command("dbus-daemon", "--config-file="+cfg, "--nofork", "--print-address=1")
	s.bus.Env = s.baseEnv()
	out, err := s.bus.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.bus.Start(); err != nil {
		return nil, fmt.Errorf("start dbus-daemon: %w", err)
	}
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	select {
	case s.Address = <-addr:
	case <-time.After(10 * time.Second):
	}
	if s.Address == "" {
		s.Stop()
		return nil, errors.New("dbus-daemon printed no address")
	}
	if mode == BusOnly {
		return s, nil
	}
	var err2 error
	switch provider {
	case KeePassXC:
		err2 = s.startKeePassXC(mode)
	case KWallet:
		err2 = s.startKWallet(mode)
	default:
		err2 = s.startGnomeKeyring(mode)
	}
	if err2 != nil {
		s.Stop()
		return nil, err2
	}
	return s, nil
}

// startGnomeKeyring starts gnome-keyring-daemon as mode says.
func (s *Session) startGnomeKeyring(mode KeyringMode) error {
	dir := s.Dir
	args := []string{"--foreground", "--components=secrets"}
	if mode == Unlocked {
		args = append(args, "--unlock")
	}
	s.keyring = exec.Command("gnome-keyring-daemon", args...)
	s.keyring.Env = s.Env()
	if mode == Unlocked {
		s.keyring.Stdin = strings.NewReader(UnlockPassword)
	}
	if logf, err := os.Create(filepath.Join(dir, "gnome-keyring.log")); err == nil {
		s.keyring.Stdout, s.keyring.Stderr = logf, logf
		defer logf.Close() // the child keeps its own descriptor
	}
	if err := s.keyring.Start(); err != nil {
		return fmt.Errorf("start gnome-keyring-daemon: %w", err)
	}
	return s.waitForSecretService(10 * time.Second)
}

// waitForSecretService waits until org.freedesktop.secrets has an owner.
func (s *Session) waitForSecretService(limit time.Duration) error {
	ok, err := s.pollBus(limit, 20*time.Millisecond, func(conn *dbus.Conn) bool {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		return err == nil && has
	})
	if err != nil || ok {
		return err
	}
	return errors.New("gnome-keyring-daemon did not claim org.freedesktop.secrets in time")
}

// pollBus asks ready, on one connection to the session's bus, every
// interval until it says yes or limit has passed; it reports which.
func (s *Session) pollBus(limit, every time.Duration, ready func(*dbus.Conn) bool) (bool, error) {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return false, fmt.Errorf("connect to test bus: %w", err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(every) {
		if ready(conn) {
			return true, nil
		}
	}
	return false, nil
}

// baseEnv is a minimal environment rooted in the session directory.
func (s *Session) baseEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.Dir,
		"XDG_CONFIG_HOME=" + filepath.Join(s.Dir, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(s.Dir, ".local/share"),
		"XDG_RUNTIME_DIR=" + filepath.Join(s.Dir, "run"),
		// Temporary files too, so that FilesContaining sees every file a
		// client or regcred writes.
		"TMPDIR=" + filepath.Join(s.Dir, "tmp"),
		"LANG=C.UTF-8",
		// Never the kernel keyring, which would be this test user's own
		// (see KernelUser), not the session's.
		"REGCRED_BACKEND=secret-service",
	}
}

// Env is the environment a process needs to use this session's keyring.
func (s *Session) Env() []string {
	return append(s.baseEnv(), "DBUS_SESSION_BUS_ADDRESS="+s.Address)
}

// EnvMap is Env as a map.
func (s *Session) EnvMap() map[string]string {
	m := map[string]string{}
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Share lets user's processes reach this session's bus (its socket sits
// in directories only root could enter).
func (s *Session) Share(u *KernelUser) error {
	for _, d := range []string{s.Dir, filepath.Join(s.Dir, "run")} {
		if err := os.Chmod(d, 0o711); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(s.Dir, "run", "bus"), 0o777)
}

// KillKeyring kills gnome-keyring-daemon, leaving the bus up.
func (s *Session) KillKeyring() {
	if s.keyring != nil && s.keyring.Process != nil {
		_ = s.keyring.Process.Kill()
		_ = s.keyring.Wait()
		s.keyring = nil
	}
}

// Alive reports whether the provider the session started still runs (a
// provider that crashed is a zombie until Stop reaps it).
func (s *Session) Alive() bool {
	if s.keyring == nil || s.keyring.Process == nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.keyring.Process.Pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return rest != "" && rest[0] != 'Z'
}

// Stop ends the session's processes.
func (s *Session) Stop() {
	s.KillKeyring()
	if s.bus != nil && s.bus.Process != nil {
		_ = s.bus.Process.Kill()
		_ = s.bus.Wait()
	}
}

// Lock locks the login collection through the Secret Service API, as a
// screen locker would.
func (s *Session) Lock() error {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	var locked []dbus.ObjectPath
	var prompt dbus.ObjectPath
	return registeredService(conn).
		Call("org.freedesktop.Secret.Service.Lock", 0,
			[]dbus.ObjectPath{"/org/freedesktop/secrets/collection/login"}).Store(&locked, &prompt)
}

// StartSessionT is StartSession for a test: the session is stopped at the
// end of the test, and an unavailable keyring skips it (fails it under CI).
func StartSessionT(tb testing.TB, mode KeyringMode) *Session {
	tb.Helper()
	// Not tb.TempDir(): a unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "regcred-session-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := StartSession(dir, mode)
	if err != nil {
		Unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartProviderT starts provider, unlocked, on a private bus for the test
// and stops both when it ends.
func StartProviderT(tb testing.TB, provider Provider) *Session {
	tb.Helper()
	return StartProviderModeT(tb, provider, Unlocked)
}

// StartProviderModeT is StartProviderT with the provider set up as mode says.
func StartProviderModeT(tb testing.TB, provider Provider, mode KeyringMode) *Session {
	tb.Helper()
	dir, err := os.MkdirTemp("", "regcred-session-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	s, err := StartProvider(dir, provider, mode)
	if err != nil {
		Unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// registeredService returns the Secret Service on conn after a property
// read, so gnome-keyring has registered the client before a method that
// needs it arrives (see store's beforeSet: a first SearchItems can fail
// with "not implemented", a first OpenSession aborts the daemon).
func registeredService(conn *dbus.Conn) dbus.BusObject {
	svc := conn.Object("org.freedesktop.secrets", "/org/freedesktop/secrets")
	_, _ = svc.GetProperty("org.freedesktop.Secret.Service.Collections")
	return svc
}

// Items returns the account ("username" attribute) of every item the
// session's keyring holds for service, read straight from the Secret
// Service, so tests see what is really stored, orphans included.
func (s *Session) Items(service string) ([]string, error) {
	labels, err := s.Labels(service)
	if err != nil {
		return nil, err
	}
	accounts := make([]string, 0, len(labels))
	for a := range labels {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	return accounts, nil
}

// Labels returns account → label of every item the session's keyring
// holds for service, as Seahorse or secret-tool would show it.
func (s *Session) Labels(service string) (map[string]string, error) {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range append(unlocked, locked...) {
		var props map[string]dbus.Variant
		if err := conn.Object("org.freedesktop.secrets", p).Call("org.freedesktop.DBus.Properties.GetAll", 0,
			"org.freedesktop.Secret.Item").Store(&props); err != nil {
			return nil, err
		}
		attrs, _ := props["Attributes"].Value().(map[string]string)
		label, _ := props["Label"].Value().(string)
		out[attrs["username"]] = label
	}
	return out, nil
}

// SetLabel sets the label of the item stored for service under account,
// as a keyring manager would, or as a helper killed between writing a
// secret and its label leaves it on a provider that writes them apart.
func (s *Session) SetLabel(service, account, label string) error {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service, "username": account}).Store(&unlocked, &locked); err != nil {
		return err
	}
	if len(unlocked) != 1 {
		return fmt.Errorf("%d unlocked items for %s, want 1", len(unlocked), account)
	}
	return conn.Object("org.freedesktop.secrets", unlocked[0]).SetProperty("org.freedesktop.Secret.Item.Label", dbus.MakeVariant(label))
}

// Snapshot returns every item the session's keyring holds for service —
// account, label and secret, one per line, sorted — so a test can check an
// operation changed nothing at all.
func (s *Session) Snapshot(service string) (string, error) {
	conn, err := dbus.Connect(s.Address)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	svc := registeredService(conn)
	var unlocked, locked []dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.SearchItems", 0,
		map[string]string{"service": service}).Store(&unlocked, &locked); err != nil {
		return "", err
	}
	var ignored dbus.Variant
	var session dbus.ObjectPath
	if err := svc.Call("org.freedesktop.Secret.Service.OpenSession", 0, "plain", dbus.MakeVariant("")).Store(&ignored, &session); err != nil {
		return "", err
	}
	var lines []string
	for _, p := range append(unlocked, locked...) {
		item := conn.Object("org.freedesktop.secrets", p)
		var props map[string]dbus.Variant
		if err := item.Call("org.freedesktop.DBus.Properties.GetAll", 0, "org.freedesktop.Secret.Item").Store(&props); err != nil {
			return "", err
		}
		var secret struct {
			Session     dbus.ObjectPath
			Parameters  []byte
			Value       []byte
			ContentType string
		}
		if err := item.Call("org.freedesktop.Secret.Item.GetSecret", 0, session).Store(&secret); err != nil {
			return "", err
		}
		attrs, _ := props["Attributes"].Value().(map[string]string)
		label, _ := props["Label"].Value().(string)
		lines = append(lines, fmt.Sprintf("%q\t%q\t%q", attrs["username"], label, secret.Value))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// FilesContaining lists the files under the session's directory — its
// HOME, XDG directories, runtime directory and TMPDIR — whose content
// includes needle: a secret found here was written in plaintext.
func (s *Session) FilesContaining(needle string) ([]string, error) {
	return filesContaining(s.Dir, needle)
}

// FilesUnder lists the files under each of dirs whose content includes
// needle; a directory that does not exist holds none.
func FilesUnder(dirs []string, needle string) ([]string, error) {
	var hits []string
	for _, d := range dirs {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			continue
		}
		h, err := filesContaining(d, needle)
		if err != nil {
			return nil, err
		}
		hits = append(hits, h...)
	}
	return hits, nil
}

// filesContaining lists the files under dir whose content includes needle.
// A file or directory it cannot read is an error: the scan would be
// incomplete.
func filesContaining(dir, needle string) ([]string, error) {
	var hits []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), needle) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits, err
}

// Monitor records the method calls sent to the Secret Service on the
// session's bus (dbus-monitor; the test bus allows eavesdropping).
type Monitor struct {
	cmd *exec.Cmd
	out *bytes.Buffer
	mu  *sync.Mutex
}

// lockedBuffer is written by the monitor process and read by the test.
type lockedBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// MonitorSecretService starts dbus-monitor on the session's bus and waits
// until it is listening.
func (s *Session) MonitorSecretService() (*Monitor, error) {
	m := &Monitor{out: &bytes.Buffer{}, mu: &sync.Mutex{}}
	m.cmd = exec.Command("dbus-monitor", "--address", s.Address,
		"type='method_call',destination='org.freedesktop.secrets'")
	m.cmd.Stdout = lockedBuffer{m.mu, m.out}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dbus-monitor: %w", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m.mu.Lock()
		ready := m.out.Len() > 0 // it reports acquiring its name first
		m.mu.Unlock()
		if ready {
			return m, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.Stop()
	return nil, errors.New("dbus-monitor printed nothing")
}

// Call is one method call seen on the bus.
type Call struct{ Sender, Member string }

// Stop ends the monitor and returns the method calls it saw, in order.
func (m *Monitor) Stop() []Call {
	time.Sleep(50 * time.Millisecond) // let the last messages arrive
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	var calls []Call
	for _, line := range strings.Split(m.out.String(), "\n") {
		if !strings.HasPrefix(line, "method call ") || !strings.Contains(line, "destination=org.freedesktop.secrets") {
			continue
		}
		var c Call
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "sender="); ok {
				c.Sender = v
			}
			if v, ok := strings.CutPrefix(f, "member="); ok {
				c.Member = v
			}
		}
		calls = append(calls, c)
	}
	return calls
}

// KillByHome kills every process whose environment has HOME=home: a
// gnome-keyring-daemon started the way the README says (without
// --foreground) detaches from whoever started it, and this is how a test
// finds it again. It returns how many it killed.
func KillByHome(home string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := []byte("HOME=" + home + "\x00")
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.HasPrefix(env, want) && !bytes.Contains(env, append([]byte{0}, want...)) {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
			n++
		}
	}
	return n
}
