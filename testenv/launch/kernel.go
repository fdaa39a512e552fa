package launch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// KernelUser is a throw-away user for tests of the kernel keyring: a uid no
// process on the machine has, with a HOME of its own. The kernel gives each
// uid its own persistent keyring, so the user's keyring is the test's
// alone; when the test ends it is invalidated, and the test fails if any
// key of the user is left (read from /proc/key-users, which counts every
// key a uid owns). Processes run as the user through setpriv, so the
// harness needs root (CI has it); elsewhere the test is skipped.
type KernelUser struct {
	UID  int
	Home string
	bin  string // wrapper scripts
}

// unusedUID is a random uid no key on the machine belongs to.
func unusedUID() int {
	for {
		uid := 2_000_000 + rand.IntN(1_000_000)
		if _, err := os.Stat(fmt.Sprintf("/run/user/%d", uid)); keysOf(uid) < 0 && os.IsNotExist(err) && !named(uid) {
			return uid
		}
	}
}

// named reports whether /etc/passwd names uid.
func named(uid int) bool {
	data, _ := os.ReadFile("/etc/passwd")
	return strings.Contains(string(data), ":"+strconv.Itoa(uid)+":")
}

// keysOf is how many keys uid owns (/proc/key-users), -1 when none.
func keysOf(uid int) int {
	data, _ := os.ReadFile("/proc/key-users")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == strconv.Itoa(uid)+":" {
			n, _ := strconv.Atoi(strings.Split(f[2], "/")[0])
			return n
		}
	}
	return -1
}

// remove invalidates the user's persistent keyring, and with it every key
// in it, and waits for the kernel to drop the user's last key.
// NewKernelUser makes a throw-away user: an unused uid with a persistent
// kernel keyring and a HOME of its own, owned by it. Remove undoes it.
func NewKernelUser() (*KernelUser, error) {
	u := &KernelUser{UID: unusedUID()}
	if _, err := u.ring(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPersistentKeyring, err)
	}
	home, err := os.MkdirTemp("", "regcred-kuser-")
	if err != nil {
		return nil, err
	}
	u.Home, u.bin = home, filepath.Join(home, ".wrap")
	for _, d := range []string{".config", ".cache", "run", "tmp", ".wrap"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o700); err != nil {
			os.RemoveAll(home)
			return nil, err
		}
	}
	if err := u.Own(home); err != nil {
		os.RemoveAll(home)
		return nil, err
	}
	return u, nil
}

// Own gives everything under dir to the user (links themselves, not what
// they point at). A file that goes while it walks (a provider's temporary
// file, renamed) is passed over.
func (u *KernelUser) Own(dir string) error {
	return filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			err = os.Lchown(p, u.UID, u.UID)
		}
		if errors.Is(err, fs.ErrNotExist) && p != dir {
			return nil
		}
		return err
	})
}

// ErrNoPersistentKeyring says this kernel gives users no persistent keyring.
var ErrNoPersistentKeyring = errors.New("this kernel offers no persistent keyring")

// Remove invalidates the user's keyring, fails if any key of the user is
// left, and removes its HOME.
func (u *KernelUser) Remove() error {
	err := u.remove()
	if rerr := os.RemoveAll(u.Home); err == nil {
		err = rerr
	}
	return err
}

// Name is the user's name once registered (Register).
func (u *KernelUser) Name() string { return "regcred-t" + strconv.Itoa(u.UID) }

// Register gives the user a passwd entry (and group) until unregister is
// called: D-Bus refuses connections from a uid it cannot name, so a user
// who shares a session bus needs one.
func (u *KernelUser) Register() (unregister func() error, err error) {
	name := u.Name()
	var out []byte
	for range 50 { // another process may hold /etc/passwd's lock for a moment
		cmd := exec.Command("useradd", "--no-create-home", "--home-dir", u.Home, "--shell", "/usr/sbin/nologin",
			"--uid", strconv.Itoa(u.UID), "--user-group", name)
		if out, err = cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("useradd %s: %v %s", name, err, out)
	}
	return func() error {
		for range 50 {
			out, err := exec.Command("userdel", name).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "lock") {
				if err != nil {
					return fmt.Errorf("userdel %s: %v %s", name, err, out)
				}
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("userdel %s: /etc/passwd stayed locked", name)
	}, nil
}

func (u *KernelUser) remove() error {
	runtime.LockOSThread() // the link ring makes is this thread's (see ring)
	defer runtime.UnlockOSThread()
	ring, err := u.ring()
	if err == nil {
		_, err = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, ring, 0, 0, 0)
	}
	if err != nil {
		return fmt.Errorf("invalidate its persistent keyring: %w", err)
	}
	for range 100 {
		if keysOf(u.UID) < 0 {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("left %d keys in the kernel (/proc/key-users)", keysOf(u.UID))
}

// ring is the user's persistent keyring, linked into this process's
// keyring: this (root) process then possesses its keys and can read them
// — on this thread: the process keyring is in the calling thread's
// credentials, so callers lock the goroutine to its thread around it.
func (u *KernelUser) ring() (int, error) {
	return unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, u.UID, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
}

// Env is a minimal environment for the user: its HOME and XDG dirs, no
// session bus, the kernel keyring named.
func (u *KernelUser) Env() map[string]string {
	return map[string]string{
		"PATH":            os.Getenv("PATH"),
		"HOME":            u.Home,
		"XDG_CONFIG_HOME": filepath.Join(u.Home, ".config"),
		"XDG_CACHE_HOME":  filepath.Join(u.Home, ".cache"),
		"XDG_RUNTIME_DIR": filepath.Join(u.Home, "run"),
		"TMPDIR":          filepath.Join(u.Home, "tmp"),
		"LANG":            "C.UTF-8",
		"REGCRED_BACKEND": "kernel",
	}
}

// keys returns description → payload of every "user" key in the user's
// persistent keyring.
func (u *KernelUser) keys() (map[string]string, error) {
	runtime.LockOSThread() // the link ring makes is this thread's (see ring)
	defer runtime.UnlockOSThread()
	ring, err := u.ring()
	if err != nil {
		return nil, err
	}
	ids, err := ReadKey(ring)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for b := ids; len(b) >= 4; b = b[4:] {
		id := int(int32(binary.NativeEndian.Uint32(b)))
		desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
		if errors.Is(err, unix.ENOKEY) {
			continue // invalidated, not yet collected
		}
		if err != nil {
			return nil, err
		}
		f := strings.SplitN(desc, ";", 5)
		if len(f) != 5 || f[0] != "user" {
			continue
		}
		payload, err := ReadKey(id)
		if errors.Is(err, unix.ENOKEY) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[f[4]] = string(payload)
	}
	return out, nil
}

func ReadKey(id int) ([]byte, error) {
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, nil, 0)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	m, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	if err != nil {
		return nil, err
	}
	return buf[:min(m, n)], nil
}

// Items lists the accounts of the user's keys under service.
func (u *KernelUser) Items(service string) ([]string, error) {
	keys, err := u.keys()
	if err != nil {
		return nil, err
	}
	var out []string
	for desc := range keys {
		if account, ok := strings.CutPrefix(desc, service+":"); ok {
			out = append(out, account)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Snapshot is every key under service, description and payload, sorted.
func (u *KernelUser) Snapshot(service string) (string, error) {
	keys, err := u.keys()
	if err != nil {
		return "", err
	}
	var lines []string
	for desc, payload := range keys {
		if strings.HasPrefix(desc, service+":") {
			lines = append(lines, fmt.Sprintf("%q\t%q", desc, payload))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n"), nil
}

// FilesContaining lists the files under the user's HOME — its XDG
// directories, runtime directory and TMPDIR are there too — holding needle.
func (u *KernelUser) FilesContaining(needle string) ([]string, error) {
	return filesContaining(u.Home, needle)
}
