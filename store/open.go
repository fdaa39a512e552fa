// Opening the store: Open is the one way every command gets its store.
//
// Where the OS offers one keyring (Windows, macOS) there is nothing to
// choose. On Linux there are two: a Secret Service (gnome-keyring,
// KeePassXC, KWallet) where a desktop session runs one, and the kernel's
// persistent keyring, which every machine has. The choice is made once —
// by `configure`, or else by the first command that needs a keyring:
// the Secret Service if one answers, otherwise the kernel keyring — and
// recorded in regcred's config file, so that it never changes between two
// commands (a desktop reached over SSH, where no Secret Service answers,
// must not split one user's credentials over two keyrings). REGCRED_BACKEND
// overrides it for one process.
//
// Under WSL 2 there is a third, "windows": the Windows Credential Manager,
// through interop (package wsl). The kernel keyring there lives in a VM
// Windows stops at `wsl --shutdown` and at every restart, so where interop
// runs regcred's Windows build, a first command chooses it.

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/regcred/regcred/internal/atomicfile"
	"github.com/regcred/regcred/store/keyring"
	"github.com/regcred/regcred/store/wsl"
)

// EnvBackend names the keyring for one process, over the recorded choice.
const EnvBackend = "REGCRED_BACKEND"

// Choice is the keyring in use, and where that choice came from.
type Choice struct {
	// Name is the keyring's name in configure --backend's words.
	Name string
	// Why says where the choice came from, for doctor and ls.
	Why string
	// Windows is the Windows build's path, for the windows keyring.
	Windows string
	// file is the config file the choice was read from, if it was.
	file string
}

// Keyring is the chosen keyring as configure and doctor speak of it: a
// keyring.OS, or the Windows keyring of WSL (wsl.Keyring).
type Keyring interface {
	// Name names the keyring in the user's words.
	Name() string
	// Probe checks the keyring answers: nil, or an error saying why not.
	Probe(ctx context.Context) error
}

// Opened is the store on the chosen keyring.
type Opened struct {
	Store   *Store
	Keyring Keyring
	Choice  Choice
}

// Names are the keyrings this machine may choose from, the default
// first: the OS's (keyring.Names), and on Linux the Windows keyring of
// WSL 2 (wsl.Name).
func Names() []string {
	names := keyring.Names()
	if runtime.GOOS == "linux" {
		names = append(names, wsl.Name)
	}
	return names
}

// Env is what choosing and opening need from the process.
type Env struct {
	// Getenv reads the environment (os.Getenv in main).
	Getenv func(string) string
	// Fault, in crash-test builds only, is called before each keyring write
	// (Config.Fault).
	Fault func(step string)
}

// ChoicePath is regcred's config file, where the keyring choice is
// recorded.
func ChoicePath(getenv func(string) string) (string, error) {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find regcred's config directory: %w", err)
		}
		dir = d
	}
	return filepath.Join(dir, "regcred", "config.json"), nil
}

// config is the config file's content.
type config struct {
	Backend string `json:"backend"`
	// Why says how the choice was made, for doctor and ls.
	Why string `json:"why,omitempty"`
	// Windows is the Windows build's path (the windows keyring).
	Windows string `json:"windows,omitempty"`
}

// Recorded returns the recorded choice, "" when there is none.
func Recorded(getenv func(string) string) (string, error) {
	c, err := recorded(getenv)
	if err == nil && c.Name != "" && !slices.Contains(Names(), c.Name) {
		return "", unknownRecorded(c.file, getenv)
	}
	return c.Name, err
}

// unknownRecorded is the error for a config file that names no keyring
// regcred knows, or does not parse.
func unknownRecorded(path string, getenv func(string) string) error {
	return fmt.Errorf("%s names no keyring regcred knows (want {\"backend\": \"%s\"}): run `docker-credential-regcred configure --backend NAME`", path, strings.Join(offered(getenv), "\" or \""))
}

// recorded returns the recorded choice and how it was made; the name is
// checked when the keyring is made (keyring.New), or by Recorded.
func recorded(getenv func(string) string) (Choice, error) {
	path, err := ChoicePath(getenv)
	if err != nil {
		return Choice{}, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return Choice{}, nil // nothing recorded, or nothing could ever be
	}
	if err != nil {
		return Choice{}, fmt.Errorf("read %s: %w (make it and its directory yours, or remove them)", path, err)
	}
	var c config
	if err := json.Unmarshal(data, &c); err != nil || c.Backend == "" {
		return Choice{}, unknownRecorded(path, getenv)
	}
	why := "recorded in " + path
	if c.Why != "" {
		why += ": " + c.Why
	}
	return Choice{Name: c.Backend, Why: why, Windows: c.Windows, file: path}, nil
}

// Record records c as the choice: its name, why it was made (c.Why), and
// for the windows keyring where the Windows build is.
func Record(getenv func(string) string, c Choice) error {
	if err := check(c.Name, getenv); err != nil {
		return err
	}
	path, err := ChoicePath(getenv)
	if err != nil {
		return err
	}
	data, err := json.Marshal(config{Backend: c.Name, Why: c.Why, Windows: c.Windows})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("record the keyring: %w", err)
	}
	if err := atomicfile.WriteFile(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the keyring: %w", err)
	}
	return nil
}

// offered are the keyrings to choose from here: the OS's, and under WSL
// the Windows one.
func offered(getenv func(string) string) []string {
	if wsl.IsWSL(getenv) {
		return Names()
	}
	return keyring.Names()
}

// check refuses a name this OS has no keyring for.
func check(name string, getenv func(string) string) error {
	if !slices.Contains(Names(), name) {
		return fmt.Errorf("no keyring %q here: choose %s", name, strings.Join(offered(getenv), " or "))
	}
	return nil
}

// OpenStore is Open's store alone: the helper's opener.
func (e Env) OpenStore(ctx context.Context) (*Store, error) {
	o, err := Open(ctx, e)
	return o.Store, err
}

// Open opens the store on the chosen keyring: REGCRED_BACKEND, else the
// recorded choice, else the detected one, which it then records (a
// config directory it cannot write only leaves the choice unrecorded).
func Open(ctx context.Context, env Env) (Opened, error) {
	cfg, err := ConfigFromEnv(env.Getenv)
	if err != nil {
		return Opened{}, err
	}
	c, err := choose(ctx, env.Getenv, cfg)
	if err != nil {
		return Opened{}, err
	}
	return open(ctx, cfg, c, env)
}

// OpenNamed opens the store on the keyring name, whatever is recorded.
func OpenNamed(ctx context.Context, env Env, name string) (Opened, error) {
	if err := check(name, env.Getenv); err != nil {
		return Opened{}, err
	}
	cfg, err := ConfigFromEnv(env.Getenv)
	if err != nil {
		return Opened{}, err
	}
	c := Choice{Name: name, Why: "named"}
	if rec, err := recorded(env.Getenv); err == nil && rec.Name == name {
		c.Windows = rec.Windows
	}
	return open(ctx, cfg, c, env)
}

// open opens the store on cfg and the keyring c names.
func open(ctx context.Context, cfg Config, c Choice, env Env) (Opened, error) {
	if c.Name == wsl.Name {
		return openWindows(ctx, cfg, c, env)
	}
	if c.Name != keyring.Default {
		// Older versions kept their items, and this index of them, in the
		// Secret Service only: a write elsewhere must neither migrate from
		// nor remove it, or those items would never be migrated.
		cfg.LegacyIndex = ""
	}
	opts, err := keyringOptions(cfg, env.Getenv)
	if err != nil {
		return Opened{}, err
	}
	k, err := keyring.New(c.Name, opts)
	if err != nil && c.file != "" {
		return Opened{}, unknownRecorded(c.file, env.Getenv)
	}
	if err != nil {
		return Opened{}, err
	}
	cfg.Keyring, cfg.Fault, cfg.LockPath = k, env.Fault, opts.LockPath
	if cfg.ItemLimit == 0 {
		cfg.ItemLimit = k.ItemLimit()
	}
	st, err := New(cfg)
	if err != nil {
		return Opened{}, err
	}
	return Opened{Store: st, Keyring: k, Choice: c}, nil
}

// keyringOptions are the options of the keyring a store on cfg uses, the
// writers' lock (DefaultLockPath) where cfg names none.
func keyringOptions(cfg Config, getenv func(string) string) (keyring.Options, error) {
	cache := getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache, _ = os.UserCacheDir()
	}
	opts := keyring.Options{Timeout: cfg.Timeout, Format: ItemFormat{}, LockPath: cfg.LockPath, CacheDir: filepath.Join(cache, "regcred")}
	if opts.LockPath != "" {
		return opts, nil
	}
	p, err := DefaultLockPath(getenv)
	opts.LockPath = p
	return opts, err
}

// Detect picks the keyring a first command records: the Secret Service if
// an older regcred kept its index beside (they used only the Secret
// Service), otherwise as keyring.Detect says — and whether the choice is
// sure enough to record (see keyring.Detect).
func Detect(ctx context.Context, cfg Config, getenv func(string) string) (c Choice, sure bool) {
	if c, ok := detectWindows(ctx, cfg, getenv); ok {
		return c, true
	}
	if len(keyring.Names()) > 1 && cfg.LegacyIndex != "" {
		if _, err := os.Stat(cfg.LegacyIndex); err == nil {
			return Choice{Name: keyring.Names()[0], Why: "an older regcred kept its credentials there"}, true
		}
	}
	// Without a writers' lock (no home directory) detection asks all the
	// same: it writes nothing.
	opts, _ := keyringOptions(cfg, getenv)
	name, why, sure := keyring.Detect(ctx, opts)
	return Choice{Name: name, Why: why}, sure
}

// choose picks the keyring as Open says. A detected choice that is not
// sure is used, not recorded: the next command asks again.
func choose(ctx context.Context, getenv func(string) string, cfg Config) (Choice, error) {
	if runtime.GOOS != "linux" { // nothing to choose, or to record (see Names)
		c, _ := Detect(ctx, cfg, getenv)
		return c, nil
	}
	if name := getenv(EnvBackend); name != "" {
		if err := check(name, getenv); err != nil {
			return Choice{}, fmt.Errorf("%s=%s: %w", EnvBackend, name, err)
		}
		return Choice{Name: name, Why: EnvBackend + " says so"}, nil
	}
	path, _ := ChoicePath(getenv)
	c, err := recorded(getenv)
	if err != nil || c.Name != "" {
		return c, err
	}
	c, sure := Detect(ctx, cfg, getenv)
	if !sure {
		c.Why += "; not recorded until it does"
	} else if Record(getenv, c) == nil {
		c.Why = "recorded in " + path + ": " + c.Why
	}
	return c, nil
}

// Environment variables that configure a Store.
const (
	// EnvItemLimit overrides the keyring's item limit (bytes per keyring item).
	EnvItemLimit = "REGCRED_ITEM_LIMIT"
	// EnvTimeout overrides keyring.DefaultTimeout (a Go duration bounding each keyring call).
	EnvTimeout = "REGCRED_TIMEOUT"
)

// ConfigFromEnv builds a Config from the environment, read through getenv
// (os.Getenv in main), all but its Keyring and LockPath (see Open). Bad
// values are errors, not silently ignored.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{Timeout: keyring.DefaultTimeout}
	if v := getenv(EnvTimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive Go duration such as 30s", EnvTimeout, v)
		}
		cfg.Timeout = d
	}
	if v := getenv(EnvItemLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < minItemLimit {
			return Config{}, fmt.Errorf("%s=%q: want a number of bytes of at least %d", EnvItemLimit, v, minItemLimit)
		}
		cfg.ItemLimit = n
	}
	if dir, err := os.UserConfigDir(); err == nil {
		cfg.LegacyIndex = filepath.Join(dir, "regcred", "index.json")
	}
	return cfg, nil
}

// DefaultLockPath is the writers' lock: one per user, whatever config
// directory a process uses, so that every writer of the user's keyring —
// docker logins from two config dirs, doctor --fix, a migration —
// serialises. Every process of the user must agree on it: a login shell,
// a cron job (no XDG_RUNTIME_DIR), sudo -u (which may pass on the
// caller's), a systemd unit. So it is not where those variables point but
// in the user's home directory, ~/.cache/regcred/lock: $HOME where that is
// the user's own directory (sudo -u sets it to the target user's), else
// the home directory the user database gives (else $HOME all the same: a
// container's uid often has no entry). Windows has no such
// variety: there it is in the user's local application data.
func DefaultLockPath(getenv func(string) string) (string, error) {
	if runtime.GOOS == "windows" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("find a place for the writers' lock: %w", err)
		}
		return filepath.Join(d, "regcred", "lock"), nil
	}
	home := getenv("HOME")
	if home == "" || !ownDir(home) {
		if u, err := user.Current(); err == nil && u.HomeDir != "" {
			home = u.HomeDir
		}
	}
	if home == "" { // a uid no database names (a container's): HOME as it is
		return "", errors.New("find a place for the writers' lock: HOME is unset and the user database names no home directory for this user")
	}
	return filepath.Join(home, ".cache", "regcred", "lock"), nil
}

// openWindows opens the store on the Windows keyring of WSL: the Windows
// build where c says, else where wsl.Find finds it.
func openWindows(ctx context.Context, cfg Config, c Choice, env Env) (Opened, error) {
	if !wsl.IsWSL(env.Getenv) {
		return Opened{}, fmt.Errorf("the %s keyring is the Windows Credential Manager seen from WSL 2, and this Linux is not WSL: choose %s", wsl.Name, strings.Join(keyring.Names(), " or "))
	}
	if c.Windows == "" {
		exe, err := wsl.Find(ctx, env.Getenv, cfg.Timeout)
		if err != nil {
			return Opened{}, err
		}
		c.Windows = exe
	}
	k := &wsl.Keyring{Path: c.Windows, Timeout: cfg.Timeout, Getenv: env.Getenv}
	cfg.Keyring, cfg.Remote = nil, k
	st, err := New(cfg)
	if err != nil {
		return Opened{}, err
	}
	return Opened{Store: st, Keyring: k, Choice: c}, nil
}

// detectWindows chooses the Windows keyring under WSL 2 where interop
// runs the Windows build and it answers.
func detectWindows(ctx context.Context, cfg Config, getenv func(string) string) (Choice, bool) {
	if !slices.Contains(Names(), wsl.Name) || !wsl.IsWSL(getenv) || wsl.Interop() != nil {
		return Choice{}, false
	}
	timeout := min(cfg.Timeout, 10*time.Second)
	exe, err := wsl.Find(ctx, getenv, timeout)
	if err != nil {
		return Choice{}, false
	}
	k := &wsl.Keyring{Path: exe, Timeout: timeout, Getenv: getenv}
	if k.Probe(ctx) != nil {
		return Choice{}, false
	}
	return Choice{Name: wsl.Name, Why: "WSL with interop: the Windows Credential Manager, which outlives wsl --shutdown", Windows: exe}, true
}
