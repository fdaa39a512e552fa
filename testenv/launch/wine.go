package launch

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Wine runs Windows builds of regcred for real: Windows programs under Wine,
// against Wine's Credential Manager (target names case-insensitive, as on
// Windows), in a prefix of its own with a persistent wineserver.
type Wine struct {
	// Prefix is the WINEPREFIX; the Windows user's AppData lives inside it.
	Prefix string
	server *exec.Cmd
	env    []string
	user   *KernelUser // whom Wine runs as; nil: this process's user
}

// Wine's programs as Debian 12's wine64 package installs them.
const (
	wine64     = "/usr/lib/wine/wine64"
	wineserver = "/usr/lib/wine/wineserver"
	mingwCC    = "x86_64-w64-mingw32-gcc"
)

// processPrngShim is a bcryptprimitives.dll of one function. Go 1.24 and
// later need ProcessPrng from it, which Wine only gained in 8.13: without
// it every Go program dies at start on Debian 12's Wine 8.0.
const processPrngShim = `#include <windows.h>
#include <ntsecapi.h>
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return RtlGenRandom(data, (ULONG)len); }
`

// StartWine makes a fresh prefix in dir, starts its wineserver and boots
// it (about 10 s). Stop ends every process of the prefix.
func StartWine(dir string) (*Wine, error) { return StartWineAs(dir, nil) }

// StartWineAs is StartWine with Wine run as user u (nil: this process's
// user), who then owns dir; u needs a passwd entry (KernelUser.Register),
// which names its Windows user.
func StartWineAs(dir string, u *KernelUser) (*Wine, error) {
	for _, p := range []string{wine64, wineserver} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s not found (Debian package wine64; `make deps` installs it as root)", p)
		}
	}
	w := &Wine{Prefix: filepath.Join(dir, "prefix"), user: u}
	if err := os.MkdirAll(w.Prefix, 0o700); err != nil {
		return nil, err
	}
	if u != nil {
		if err := u.Own(dir); err != nil {
			return nil, err
		}
	}
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"WINEPREFIX=" + w.Prefix,
		"WINEDEBUG=-all",
		"WINEDLLOVERRIDES=mscoree,mshtml=", // no Mono or Gecko installer prompts
		"LANG=C.UTF-8",
		"USER=" + w.userName(),
	}
	// The server first, in the foreground so that we hold its PID; a
	// wineboot started before it would start a transient one.
	w.server = w.command(wineserver, "--persistent", "--foreground")
	w.server.Env = w.env
	if err := w.server.Start(); err != nil {
		return nil, fmt.Errorf("start wineserver: %w", err)
	}
	if err := w.awaitServer(10 * time.Second); err != nil {
		w.Stop()
		return nil, err
	}
	// wineboot leaves Wine's services running with its stdout and stderr:
	// a pipe there would never close, so its output goes to a file.
	logPath := filepath.Join(dir, "wineboot.log")
	log, err := os.Create(logPath)
	if err != nil {
		w.Stop()
		return nil, err
	}
	boot := w.command(wine64, "wineboot", "--init")
	boot.Env, boot.Stdout, boot.Stderr = w.env, log, log
	err = boot.Run()
	log.Close()
	if err != nil {
		out, _ := os.ReadFile(logPath)
		w.Stop()
		return nil, fmt.Errorf("wineboot: %v\n%s", err, out)
	}
	if err := w.installShim(dir); err != nil {
		w.Stop()
		return nil, err
	}
	return w, nil
}

// installShim adds the ProcessPrng shim where Wine lacks the DLL.
func (w *Wine) installShim(dir string) error {
	dll := filepath.Join(w.Prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); err == nil {
		return nil // Wine 9 or later has it
	}
	if _, err := exec.LookPath(mingwCC); err != nil {
		return fmt.Errorf("%s not found (Debian package gcc-mingw-w64-x86-64-win32): Go programs need it under this Wine", mingwCC)
	}
	src := filepath.Join(dir, "shim.c")
	if err := os.WriteFile(src, []byte(processPrngShim), 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(mingwCC, "-O2", "-shared", "-s", "-o", dll, src, "-ladvapi32").CombinedOutput(); err != nil {
		return fmt.Errorf("build the ProcessPrng shim: %v\n%s", err, out)
	}
	if w.user != nil {
		return os.Lchown(dll, w.user.UID, w.user.UID)
	}
	return nil
}

// Stop ends every process of the prefix (wineserver -k), then the server
// itself, then anything left that runs in the prefix, each by PID.
func (w *Wine) Stop() {
	// Last of all, the server's directory under /tmp, which Wine leaves.
	if dir := w.ServerDir(); dir != "" {
		defer os.RemoveAll(dir)
	}
	kill := w.command(wineserver, "--kill")
	kill.Env = w.env
	_ = kill.Run()
	defer func() {
		// Wine's services exit a moment after the server: wait for them,
		// killing any that stay.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			left := ProcessesWithEnv("WINEPREFIX=" + w.Prefix)
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				for _, pid := range left {
					if p, err := os.FindProcess(pid); err == nil {
						_ = p.Kill()
					}
				}
				deadline = time.Now().Add(5 * time.Second)
			}
		}
	}()
	if w.server != nil && w.server.Process != nil {
		done := make(chan struct{})
		go func() { _ = w.server.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = w.server.Process.Kill()
			<-done
		}
	}
}

// serverDirName matches the directory Debian's Wine makes for a prefix's
// wineserver under /tmp (mkdtemp) and names in $WINEPREFIX/wineserver.
var serverDirName = regexp.MustCompile(`^wine-[A-Za-z0-9]{6}$`)

// ServerDir is the prefix's wineserver directory, "" until the server has
// chosen it. Debian's Wine (a patch for Debian bugs 903622 and 904041)
// makes it with mkdtemp, not as /tmp/.wine-UID, and records its name in
// the prefix: a client that looks before the record exists makes a
// directory of its own and fails ("chdir to /tmp/wine-…/server-…: No such
// file or directory"), and nothing removes the directory afterwards.
func (w *Wine) ServerDir() string {
	b, err := os.ReadFile(filepath.Join(w.Prefix, "wineserver"))
	name := strings.TrimSpace(string(b))
	if err != nil || !serverDirName.MatchString(name) {
		return ""
	}
	return filepath.Join("/tmp", name)
}

// awaitServer waits until the wineserver listens: its directory recorded
// and its socket made, so that wineboot, started next, finds it.
func (w *Wine) awaitServer(timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if dir := w.ServerDir(); dir != "" {
			if sockets, _ := filepath.Glob(filepath.Join(dir, "server-*", "socket")); len(sockets) > 0 {
				return nil
			}
		}
	}
	return fmt.Errorf("wineserver made no socket in %v (prefix %s)", timeout, w.Prefix)
}

// AppData is the Windows user's roaming AppData, as a host path: where
// os.UserConfigDir points Windows programs.
func (w *Wine) AppData() string {
	return filepath.Join(w.Prefix, "drive_c", "users", w.userName(), "AppData", "Roaming")
}

// LocalAppData is the Windows user's local AppData, as a host path.
func (w *Wine) LocalAppData() string {
	return filepath.Join(w.Prefix, "drive_c", "users", w.userName(), "AppData", "Local")
}

// userName is the Windows user's name: the Unix user's.
func (w *Wine) userName() string {
	if w.user != nil {
		return w.user.Name()
	}
	if user := os.Getenv("USER"); user != "" {
		return user
	}
	return "root"
}

// command runs name as Wine's user.
func (w *Wine) command(name string, args ...string) *exec.Cmd {
	return commandAs(w.user, name, args...)
}

// Env is the prefix's environment, for programs that run Wine themselves.
func (w *Wine) Env() []string { return append([]string{}, w.env...) }

// Run runs a Windows program (a host path to a .exe) under Wine with the
// prefix's environment plus extra, and returns what it did. Windows
// programs end their lines with CRLF: the output comes back with LF.
func (w *Wine) Run(exe string, extra map[string]string, stdin string, args ...string) (Result, error) {
	cmd := w.command(wine64, append([]string{exe}, args...)...)
	cmd.Dir = filepath.Dir(exe)
	cmd.Env = append([]string{}, w.env...)
	// A Windows program may leave a Wine service holding its output open.
	cmd.WaitDelay = 10 * time.Second
	for k, v := range extra {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	r, err := RunCmd(cmd, stdin)
	r.Stdout, r.Stderr = crlf(r.Stdout), crlf(r.Stderr)
	return r, err
}

func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// Items lists the Credential Manager targets under service (the part
// after "service:"), from Wine's registry, sorted.
func (w *Wine) Items(service string) ([]string, error) {
	cmd := w.command(wine64, "reg", "query", `HKCU\Software\Wine\Credential Manager`, "/s")
	cmd.Env = w.env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("reg query: %w", err)
	}
	var items []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// Key lines: HKEY_CURRENT_USER\...\Credential Manager\Generic: <target>
		_, target, ok := strings.Cut(strings.TrimRight(sc.Text(), "\r"), `\Generic: `)
		if account, isOurs := strings.CutPrefix(target, service+":"); ok && isOurs {
			items = append(items, account)
		}
	}
	sort.Strings(items)
	return items, sc.Err()
}

// WineAvailable reports whether Wine can run here at all: on amd64 Linux.
func WineAvailable() error {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		return fmt.Errorf("windows builds run under Wine only on linux/amd64 (this is %s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	return nil
}

// ProcessesWithEnv lists the processes whose environment holds kv.
func ProcessesWithEnv(kv string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), kv) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil && pid != os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Pause stops the prefix's wineserver (SIGSTOP): every Windows program of
// the prefix then hangs on its next request, as a Windows side that does
// not answer would. Resume lets it go on.
func (w *Wine) Pause() error { return w.server.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused wineserver.
func (w *Wine) Resume() error { return w.server.Process.Signal(syscall.SIGCONT) }
