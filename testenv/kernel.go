package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regcred/regcred/testenv/launch"
)

var (
	_ Keyring = (*launch.Session)(nil)
	_ Keyring = (*launch.KernelUser)(nil)
)

// Keyring is what a test can see of a keyring under test, whichever it is.
type Keyring interface {
	// Items lists the accounts of every item under service, sorted.
	Items(service string) ([]string, error)
	// Snapshot is every item under service — account, label or key
	// description, and secret — one per line, sorted.
	Snapshot(service string) (string, error)
	// FilesContaining lists the files under the user's directories whose
	// content includes needle.
	FilesContaining(needle string) ([]string, error)
}

// NewKernelUser makes a throw-away user for tb (launch.NewKernelUser),
// removed when tb ends, failing tb if any key of it is left.
func NewKernelUser(tb testing.TB) *launch.KernelUser {
	tb.Helper()
	if os.Geteuid() != 0 {
		Unavailable(tb, errors.New("the kernel keyring tests run processes as throw-away users: run them as root"))
	}
	Require(tb, "setpriv", "keyctl")
	u, err := launch.NewKernelUser()
	if errors.Is(err, launch.ErrNoPersistentKeyring) {
		Unavailable(tb, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := u.Remove(); err != nil {
			tb.Errorf("throw-away user %d: %v", u.UID, err)
		}
	})
	return u
}

// RegisterUser gives u a passwd entry for the rest of tb (see
// launch.KernelUser.Register).
func RegisterUser(tb testing.TB, u *launch.KernelUser) {
	tb.Helper()
	Require(tb, "useradd", "userdel")
	unregister, err := u.Register()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := unregister(); err != nil {
			tb.Error(err)
		}
	})
}

// NoPlaintext fails tb if a file k's user could have written holds any of
// needles, or if one could not be read (the search would be incomplete).
func NoPlaintext(tb testing.TB, k Keyring, needles ...string) {
	tb.Helper()
	for _, n := range needles {
		hits, err := k.FilesContaining(n)
		if err != nil {
			tb.Errorf("searching for plaintext: %v", err)
		}
		if len(hits) > 0 {
			tb.Errorf("a secret is in plaintext in %q", hits)
		}
	}
}

// UserNamespace is a user namespace in which root maps to root: files are
// root's as outside, but the kernel gives root there a persistent keyring
// of its own. The newcomer test runs as root in one, so that what it logs
// in with never reaches this machine's own root keyring. When the test
// ends, that keyring is invalidated and the namespace ends.
type UserNamespace struct {
	holder *exec.Cmd
}

// NewUserNamespace starts a namespace for tb.
func NewUserNamespace(tb testing.TB) *UserNamespace {
	tb.Helper()
	Require(tb, "unshare", "nsenter", "keyctl")
	if os.Geteuid() != 0 {
		Unavailable(tb, errors.New("the newcomer test maps root in a user namespace: run it as root"))
	}
	holder := exec.Command("unshare", "--user", "--map-root-user", "sleep", "infinity")
	if err := holder.Start(); err != nil {
		Unavailable(tb, fmt.Errorf("unshare --user: %w", err))
	}
	ns := &UserNamespace{holder: holder}
	tb.Cleanup(func() {
		// Invalidate the namespace's persistent keyring from inside it,
		// in a session keyring that possesses it.
		if out, err := ns.Command("keyctl", "session", "-", "sh", "-c", "keyctl invalidate $(keyctl get_persistent @s)").CombinedOutput(); err != nil {
			tb.Errorf("invalidate the namespace's keyring: %v %s", err, out)
		}
		_ = holder.Process.Kill()
		_ = holder.Wait()
	})
	for range 100 { // unshare maps root a moment after it starts
		if m, _ := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", holder.Process.Pid)); strings.TrimSpace(string(m)) != "" {
			return ns
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatal("unshare --user --map-root-user mapped no user")
	return nil
}

// Command runs name inside the namespace as its root.
func (ns *UserNamespace) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--target", strconv.Itoa(ns.holder.Process.Pid), "--user", "--", name}, args...)...)
}

// Wrap is bin as user u runs it (u.Wrap), or bin itself when u is nil.
func Wrap(tb testing.TB, u *launch.KernelUser, bin string) string {
	tb.Helper()
	if u == nil {
		return bin
	}
	w, err := u.Wrap(bin)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// copyMu guards the copies UsersCopy makes.
var copyMu sync.Mutex

// UsersCopy is file (a path) copied into dir, once, where throw-away users
// can read it and, if it is a program, run it: build caches, tool
// directories and a clone under /root (mode 0700) are out of their reach.
func UsersCopy(tb testing.TB, file, dir string) string {
	tb.Helper()
	copyMu.Lock()
	defer copyMu.Unlock()
	dst := filepath.Join(dir, filepath.Base(file))
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	fi, err := os.Stat(file)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err == nil {
		mode := fi.Mode().Perm() | 0o444
		if mode&0o100 != 0 {
			mode |= 0o111
		}
		err = copyFile(file, dst+".tmp", mode)
	}
	if err == nil {
		err = os.Rename(dst+".tmp", dst)
	}
	if err != nil {
		tb.Fatalf("copy %s for throw-away users: %v", file, err)
	}
	return dst
}
