package keyring

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// KernelKeyring is the Linux kernel's key retention service: credentials
// are "user" keys in the calling user's persistent keyring
// (KEYCTL_GET_PERSISTENT), which every session of that user shares — each
// SSH login, tmux pane, cron job and CI step — and which never touches
// disk. It needs no daemon and no D-Bus. The kernel clears it at reboot,
// and after persistent_keyring_expiry seconds in which no process asked
// for it; each user's keys count against the kernel's key quota.
type KernelKeyring struct {
	opts Options

	mu sync.Mutex // one call at a time
}

// NewKernelKeyring returns the user's persistent kernel keyring, each call
// bounded by opts.Timeout.
func NewKernelKeyring(opts Options) *KernelKeyring {
	return &KernelKeyring{opts: opts}
}

var _ OS = (*KernelKeyring)(nil)

// keyPerm lets the user's own processes do everything with a key, and no
// other user even see it (the kernel grants nobody else anything by
// default either; this says so explicitly).
// (possessor: all; user: view, read, write, search, link, setattr).
const keyPerm = 0x3f3f0000

// Name names the keyring in the user's words.
func (k *KernelKeyring) Name() string { return "kernel keyring" }

// ItemLimit is the largest item the keyring takes.
func (k *KernelKeyring) ItemLimit() int { return KernelItemLimit }

// Limits says, with this machine's numbers, when the kernel forgets the
// keyring and how much of the user's quota it uses.
func (k *KernelKeyring) Limits() string {
	q := KernelQuota()
	return fmt.Sprintf("the kernel clears this keyring at reboot, and after %s in which nothing used it (kernel.keys.persistent_keyring_expiry = %d s); this user holds %s",
		days(q.Expiry), q.Expiry, q)
}

// days says seconds in the largest whole unit.
func days(s int) string {
	switch {
	case s%86400 == 0:
		return fmt.Sprintf("%d days", s/86400)
	case s%3600 == 0:
		return fmt.Sprintf("%d hours", s/3600)
	}
	return fmt.Sprintf("%d seconds", s)
}

// Probe checks the persistent keyring can be had.
func (k *KernelKeyring) Probe(ctx context.Context) error {
	return k.call(ctx, func(int) error { return nil })
}

// Get returns the data stored under account.
func (k *KernelKeyring) Get(ctx context.Context, account string) (string, error) {
	var data string
	err := k.call(ctx, func(ring int) error {
		id, err := unix.KeyctlSearch(ring, "user", Service+":"+account, 0)
		if err != nil {
			return err
		}
		data, err = readKey(id)
		return err
	})
	return data, err
}

// Set stores data under account: add_key replaces an existing key's
// payload in one call, so the switch-over is one write.
func (k *KernelKeyring) Set(ctx context.Context, account string, _ Label, data string) error {
	return k.call(ctx, func(ring int) error {
		id, err := unix.AddKey("user", Service+":"+account, []byte(data), ring)
		if err != nil {
			return err
		}
		return unix.KeyctlSetperm(id, keyPerm)
	})
}

// Delete invalidates account's key: the kernel removes it at once.
func (k *KernelKeyring) Delete(ctx context.Context, account string) error {
	return k.call(ctx, func(ring int) error {
		id, err := unix.KeyctlSearch(ring, "user", Service+":"+account, 0)
		if err != nil {
			return err
		}
		_, err = unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
		return err
	})
}

// List reads the persistent keyring's keys: their descriptions name the
// accounts, and the label comes from the payload (a system call each; the
// kernel has no label apart from it).
func (k *KernelKeyring) List(ctx context.Context) (map[string]Label, error) {
	out := map[string]Label{}
	err := k.call(ctx, func(ring int) error {
		ids, err := readKey(ring)
		if err != nil {
			return err
		}
		for b := []byte(ids); len(b) >= 4; b = b[4:] {
			id := int(int32(binary.NativeEndian.Uint32(b)))
			desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
			if err != nil {
				continue // gone meanwhile, or not ours to see
			}
			f := strings.SplitN(desc, ";", 5)
			account, ours := strings.CutPrefix(f[len(f)-1], Service+":")
			if len(f) != 5 || f[0] != "user" || !ours {
				continue
			}
			data, err := readKey(id)
			if err != nil {
				continue
			}
			out[account] = k.opts.Format.LabelOf(data)
		}
		return nil
	})
	return out, err
}

// readKey reads a key's payload (a keyring's: its keys' serials).
func readKey(id int) (string, error) {
	for {
		n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, nil, 0)
		if err != nil {
			return "", err
		}
		buf := make([]byte, n)
		m, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
		if err != nil {
			return "", err
		}
		if m <= n { // not grown since the length was asked
			return string(buf[:m]), nil
		}
	}
}

// call runs fn on the persistent keyring as one bounded call. Asking for
// the persistent keyring also restarts its expiry timer.
func (k *KernelKeyring) call(ctx context.Context, fn func(ring int) error) error {
	return Bounded(ctx, k.opts.Timeout, func() error {
		// A process keyring lives in the calling thread's credentials,
		// and a Go program's goroutines move between threads: the link
		// and the calls that rely on it run on one thread, linked anew
		// on each call (a link already there costs nothing).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		k.mu.Lock()
		defer k.mu.Unlock()
		ring, err := persistentKeyring()
		if err != nil {
			return kernelError(err, true)
		}
		return kernelError(fn(ring), false)
	})
}

// persistentKeyring returns the user's persistent keyring, linked where
// this process possesses it (its keys then are ours to read and write):
// into the session keyring, as `keyctl get_persistent @s` does, when that
// is the user's own — every later process of the session then finds it
// linked, at no cost to the user's quota. A session keyring that belongs
// to another user is one sudo handed over (Debian's has no pam_keyinit):
// a link there would let every process of that user read ours. The
// keyring is linked into this process's own keyring instead, and a link
// an older regcred left in that session is taken away.
func persistentKeyring() (int, error) {
	if ownSession() {
		ring, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
		if !errors.Is(err, unix.EACCES) { // one we may not write: as another's
			return ring, err
		}
	}
	ring, err := unix.KeyctlInt(unix.KEYCTL_GET_PERSISTENT, -1, unix.KEY_SPEC_PROCESS_KEYRING, 0, 0)
	if err == nil {
		// ENOENT: not linked there (the usual case); EACCES: not ours to change.
		_, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, ring, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
	}
	return ring, err
}

// ownSession reports whether this process's session keyring belongs to
// its own user (the kernel gives a process without one the user's session
// keyring, which does).
func ownSession() bool {
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, unix.KEY_SPEC_SESSION_KEYRING)
	f := strings.SplitN(desc, ";", 5) // type;uid;gid;perm;description
	return err == nil && len(f) == 5 && f[1] == strconv.Itoa(os.Geteuid())
}

// kernelError maps keyctl's errors to this package's.
func kernelError(err error, gettingRing bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOKEY), errors.Is(err, unix.EKEYEXPIRED), errors.Is(err, unix.EKEYREVOKED):
		return ErrNotFound
	case errors.Is(err, unix.ENOSYS):
		return ErrNoKeyctl
	case gettingRing && errors.Is(err, unix.EPERM):
		return ErrKeyctlForbidden
	case gettingRing && errors.Is(err, unix.EOPNOTSUPP):
		return ErrNoPersistentKeyring
	case errors.Is(err, unix.EDQUOT):
		return fmt.Errorf("%w (%s): erase credentials you no longer use, or raise it, e.g. sudo sysctl -w kernel.keys.maxbytes=200000 kernel.keys.maxkeys=2000", ErrQuota, KernelQuota().String())
	}
	return fmt.Errorf("keyring: %w", err)
}

// Quota is this user's use of the kernel's key quota, and its limits
// (/proc/key-users, /proc/sys/kernel/keys/): the numbers doctor shows.
type Quota struct {
	Keys, MaxKeys, Bytes, MaxBytes int
	// Expiry is persistent_keyring_expiry, in seconds.
	Expiry int
}

// KernelQuota reads this user's quota; fields it cannot read stay zero.
func KernelQuota() Quota {
	q := Quota{Expiry: readInt("/proc/sys/kernel/keys/persistent_keyring_expiry")}
	prefix := ""
	if os.Getuid() == 0 {
		prefix = "root_"
	}
	q.MaxKeys = readInt("/proc/sys/kernel/keys/" + prefix + "maxkeys")
	q.MaxBytes = readInt("/proc/sys/kernel/keys/" + prefix + "maxbytes")
	data, _ := os.ReadFile("/proc/key-users")
	for line := range strings.Lines(string(data)) {
		// "  1000:     5 5/5 5/200 172/20000"
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == strconv.Itoa(os.Getuid())+":" {
			q.Keys, _ = strconv.Atoi(strings.Split(f[3], "/")[0])
			q.Bytes, _ = strconv.Atoi(strings.Split(f[4], "/")[0])
		}
	}
	return q
}

// String is the quota in one clause, naming the settings.
func (q Quota) String() string {
	return fmt.Sprintf("%d of %d keys (kernel.keys.%smaxkeys), %d of %d bytes (kernel.keys.%smaxbytes)",
		q.Keys, q.MaxKeys, rootPrefix(), q.Bytes, q.MaxBytes, rootPrefix())
}

func rootPrefix() string {
	if os.Getuid() == 0 {
		return "root_"
	}
	return ""
}

func readInt(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}
