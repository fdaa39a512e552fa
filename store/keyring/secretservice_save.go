//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/regcred/regcred/internal/atomicfile"
)

// KeePassXC saves its database 150 ms after the first change that finds it
// saved (Database::markAsModified), in a worker thread, while its main
// thread goes on serving D-Bus requests (AsyncTask::runAndWaitForFuture).
// A change that lands during the save races the thread that is writing
// the database out and can crash KeePassXC — every version up to 2.7.9 and
// the development branch in 2024, whichever program writes. KeePassXC says
// nothing on the bus about a save; the file it writes is the one sign: for
// the length of the save it holds a file open for writing, a nameless one
// in the database's directory ("#inode (deleted)", Qt's QSaveFile), the
// database itself (DirectWrite), or a Qt temporary file (TempFile).
//
// So regcred's writes to KeePassXC come in bursts that end before the
// timer their first change starts can fire, and a burst starts only once
// the save the last burst started has come and gone. The time each burst
// started lives in a file beside the writers' lock: every write holds that
// lock, so writers of every process take turns through it.
const (
	// burstLength is how long after its start a burst may go on writing:
	// well inside KeePassXC's 150 ms, the rest being the call's latency.
	burstLength = 100 * time.Millisecond
	// saveStartLimit is how long after a burst started its save must have
	// begun: the delay, and the main thread's own work before the save
	// starts (it hashes the file first). A save not begun by then is not
	// coming (auto-save is off, or delayed by minutes).
	saveStartLimit = 500 * time.Millisecond
	pollEvery      = 2 * time.Millisecond
)

// burstFile is where the start of the last burst of writes is kept,
// beside the writers' lock at lockPath; none without one.
func burstFile(lockPath string) string {
	if lockPath == "" {
		return ""
	}
	return lockPath + ".keepassxc"
}

// lastBurst reads when the last burst of writes started; an unreadable
// record counts as a burst just begun, which beforeWrite joins only while
// it sees no save under way (blind, it cannot: see lastBlindBurst).
func lastBurst(path string) time.Time {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) || path == "" {
		return time.Time{}
	}
	ns, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || perr != nil {
		return time.Now()
	}
	return time.Unix(0, ns)
}

// beforeWrite waits, on KeePassXC, until a change now cannot land in a
// save: either the burst under way is young enough, or the save the last
// burst started has ended (or has not begun within saveStartLimit). It
// records the start of a new burst beside the writers' lock at lockPath.
// It gives up after limit.
func (p *Provider) beforeWrite(limit time.Duration, lockPath string) error {
	if !p.keepassxc() {
		return nil
	}
	if p.blind() {
		return beforeWriteBlind(limit, burstFile(lockPath), p.databases())
	}
	path := burstFile(lockPath)
	start := lastBurst(path)
	now := time.Now()
	if !start.IsZero() && now.Sub(start) < burstLength && !p.saving() {
		return nil // the burst under way goes on
	}
	deadline := now.Add(limit)
	seen := false
	for {
		saving := p.saving()
		seen = seen || saving
		if !saving && (seen || time.Since(start) > saveStartLimit) {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("KeePassXC was still saving its database after %v", limit)
		}
		time.Sleep(pollEvery)
	}
	if path == "" {
		return nil
	}
	return recordBurst(path, strconv.FormatInt(time.Now().UnixNano(), 10))
}

// recordBurst writes the burst record whole or not at all: a writer
// killed mid-write (docker gives up on a helper, a user's Ctrl-C) must
// not leave a record the next writer reads as a burst just begun.
func recordBurst(path, record string) error {
	return atomicfile.WriteFile(path, []byte(record), 0o600)
}

// saving reports whether the provider holds open for writing a file
// KeePassXC writes only while it saves. A process it cannot look into
// (another user's, another PID namespace's) counts as not saving: the
// time bound in beforeWrite is then what keeps writes apart.
func (p *Provider) saving() bool {
	dir := fmt.Sprintf("/proc/%d/fd", p.PID)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if err != nil || !savedFile(target) {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", p.PID, fd.Name()))
		if err == nil && openForWriting(string(info)) {
			return true
		}
	}
	return false
}

// savedFile reports whether a descriptor's target is one KeePassXC writes
// as it saves: QSaveFile's nameless file, a .kdbx, or a Qt temporary file.
func savedFile(target string) bool {
	if !strings.HasPrefix(target, "/") {
		return false // a socket, a pipe, an anonymous inode
	}
	base := filepath.Base(strings.TrimSuffix(target, " (deleted)"))
	return strings.HasSuffix(target, " (deleted)") && strings.HasPrefix(base, "#") ||
		strings.Contains(base, ".kdbx") || strings.HasPrefix(base, "qt_temp.")
}

// openForWriting reads the access mode from a /proc fdinfo text.
func openForWriting(fdinfo string) bool {
	for line := range strings.SplitSeq(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&3 != 0 // O_WRONLY or O_RDWR
		}
	}
	return false
}

// blindSaveLimit is how long after a burst started its save is over, for
// a KeePassXC whose descriptors regcred cannot see: the 150 ms delay, a
// key derivation of KeePassXC's default one second with room for a slower
// machine than the one that set it, and the write.
const blindSaveLimit = 3 * time.Second

// blind reports whether the provider's open files are out of sight: its
// release builds make themselves undumpable, so to its own user, not
// root, /proc/PID/fd is closed.
func (p *Provider) blind() bool {
	_, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.PID))
	return err != nil
}

// beforeWriteBlind is beforeWrite for a KeePassXC it cannot look into.
// Saves are then seen by their result: the database files dbs — those
// KeePassXC was started with or last opened (see databases) — change when
// a save ends. A burst goes on while it is young; a new
// one starts once the files changed after the last burst started, or
// blindSaveLimit after it (no save came, or no file is known).
func beforeWriteBlind(limit time.Duration, path string, dbs []string) error {
	start, stamp, ok := lastBlindBurst(path)
	if ok && !start.IsZero() && time.Since(start) < burstLength {
		return nil
	}
	deadline := time.Now().Add(limit)
	for !start.IsZero() && time.Since(start) < blindSaveLimit {
		if ok && len(dbs) > 0 && stampOf(dbs) != stamp {
			break // the last burst's save is written
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("KeePassXC was still saving its database after %v", limit)
		}
		time.Sleep(10 * pollEvery)
	}
	if path == "" {
		return nil
	}
	return recordBurst(path, strconv.FormatInt(time.Now().UnixNano(), 10)+" "+stampOf(dbs))
}

// lastBlindBurst reads when the last burst started and the stamp of the
// database files then. An unreadable record (ok false) counts as a burst
// just begun whose save has not been seen: a full wait, never a race — a
// record read as young would let the next writer into a save.
func lastBlindBurst(path string) (start time.Time, stamp string, ok bool) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) || path == "" {
		return time.Time{}, "", true
	}
	t, stamp, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	ns, perr := strconv.ParseInt(t, 10, 64)
	if err != nil || perr != nil {
		return time.Now(), "", false
	}
	return time.Unix(0, ns), stamp, true
}

// stampOf is the identity, size and modification time of files: a save
// (a new file renamed over the old, or the old rewritten) changes it.
func stampOf(files []string) string {
	var b strings.Builder
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			fmt.Fprintf(&b, "%d:%d:%d,", inode(fi), fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// databases are the database files KeePassXC has open, as far as its
// command line and its settings tell (the last opened ones, which it
// reopens at start).
func (p *Provider) databases() []string {
	var out []string
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	for _, arg := range strings.Split(string(cmdline), "\x00") {
		if strings.HasSuffix(arg, ".kdbx") && filepath.IsAbs(arg) {
			out = append(out, arg)
		}
	}
	home, _ := os.UserHomeDir()
	for _, ini := range []string{
		filepath.Join(xdg("XDG_CACHE_HOME", home, ".cache"), "keepassxc", "keepassxc.ini"),
		filepath.Join(xdg("XDG_CONFIG_HOME", home, ".config"), "keepassxc", "keepassxc.ini"),
	} {
		data, _ := os.ReadFile(ini)
		for line := range strings.Lines(string(data)) {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok || (k != "LastOpenedDatabases" && k != "LastActiveDatabase") {
				continue
			}
			for _, f := range strings.Split(v, ",") {
				if f = strings.Trim(strings.TrimSpace(f), `"`); filepath.IsAbs(f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// xdg is the XDG directory the variable names, else home/dflt.
func xdg(variable, home, dflt string) string {
	if d := os.Getenv(variable); d != "" {
		return d
	}
	return filepath.Join(home, dflt)
}
