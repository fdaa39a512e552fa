package launch

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// UnlockPassword is the password the test keyrings are created with.
const UnlockPassword = "regcred-test-keyring"

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
	// Defaults is KeePassXC on its default settings — access confirmation
	// on, the Recycle Bin on, the default key derivation — on a display of
	// its own, where Session.AnswerBy answers its questions as a person
	// would.
	Defaults
	// NoRecycleBin is Defaults with the database's Recycle Bin switched
	// off (Database Settings): a delete is for good, and KeePassXC asks a
	// person to confirm it (it moves to the Recycle Bin without asking).
	NoRecycleBin
)

// Session is a private session bus, optionally with a Secret Service
// provider on it, living in its own directory (which is also its HOME).
type Session struct {
	Dir      string   // HOME and XDG dirs of the session
	Address  string   // DBUS_SESSION_BUS_ADDRESS
	Provider Provider // the Secret Service on the bus, unless BusOnly
	bus      *exec.Cmd
	keyring  *exec.Cmd
	user     *KernelUser // whom the bus and the provider run as; nil: root
	display  *display    // the provider's X display (Defaults)
	// stopAnswering ends AllowAll's answering, when it runs.
	stopAnswering func()
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
	return StartProviderAs(dir, provider, mode, nil)
}

// StartProviderAs is StartProvider with the bus and the provider run as
// user u (nil: this process's user), as an ordinary user runs them: dir
// becomes u's, and u needs a passwd entry (KernelUser.Register) for the
// bus to name it.
func StartProviderAs(dir string, provider Provider, mode KeyringMode, u *KernelUser) (*Session, error) {
	programs := [][2]string{{"dbus-daemon", "dbus"}}
	if mode != BusOnly {
		programs = append(programs, providerPrograms[provider]...)
	}
	for _, p := range programs {
		if _, err := exec.LookPath(p[0]); err != nil {
			return nil, fmt.Errorf("%s not found on PATH (Debian package %s; `make deps` installs it as root)", p[0], p[1])
		}
	}
	s := &Session{Dir: dir, Provider: provider, user: u}
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
	if err := s.own(); err != nil {
		return nil, err
	}
	s.bus = s.command("dbus-daemon", "--config-file="+cfg, "--nofork", "--print-address=1")
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
	s.keyring = s.command("gnome-keyring-daemon", args...)
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
	if s.stopAnswering != nil {
		s.stopAnswering()
		s.stopAnswering = nil
	}
	s.KillKeyring()
	if s.bus != nil && s.bus.Process != nil {
		_ = s.bus.Process.Kill()
		_ = s.bus.Wait()
	}
	s.display.stop()
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
