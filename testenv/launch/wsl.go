package launch

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WSL stands in for WSL 2's interop on this machine, for a user u: what
// WSL's /init does for Windows programs, Wine does here. It registers a
// binfmt_misc handler of its own (the machine's kernel runs Windows
// programs through it, as WSL's kernel does through its WSLInterop entry)
// that runs them under Wine, as u, in a prefix of u's own — but only while
// the interop socket the program's WSL_INTEROP names is there, as WSL's
// handler needs its session's interop server. It serves such a socket in
// /run/WSL, where WSL keeps them, and puts on a directory for PATH what
// WSL puts there: Windows' cmd.exe (Wine's) and wslpath (winepath).
//
// What it cannot stand in for: the utility VM and its shutdown, the
// 9p-mounted Windows drives under /mnt (the Windows side is Wine's
// drive_c), and WSL's own messages beyond the one for a missing interop
// server.
type WSL struct {
	Wine *Wine
	// Entry is the binfmt_misc handler's name.
	Entry string
	// Socket is the interop socket (WSL_INTEROP).
	Socket string
	// Bin holds cmd.exe and wslpath, for PATH.
	Bin string

	listener    net.Listener
	madeRunDir  bool // /run/WSL was made here
	mountedMisc bool // binfmt_misc was mounted here
	dir         string
}

const (
	binfmtMisc = "/proc/sys/fs/binfmt_misc"
	wslRunDir  = "/run/WSL"
)

// wslHandler is the binfmt_misc interpreter: WSL's /init refuses with this
// message when the session's interop server is out of reach.
const wslHandler = `#!/bin/sh
# The stand-in for WSL's /init as the handler of Windows programs.
if [ ! -S "${WSL_INTEROP:-}" ]; then
	echo "<3>WSL (1) ERROR: UtilConnectToInteropServer:307: connect failed 2" >&2
	exit 1
fi
# One wineserver for the prefix: Debian's Wine finds it under TMPDIR.
unset TMPDIR
export WINEPREFIX=%q WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' USER=%q
exec %s "$@"
`

// StartWSL starts Wine as u in dir, registers the handler and serves the
// interop socket. It needs root, and no other enabled handler of Windows
// programs (the test switches interop off by disabling its own). Stop
// undoes all of it.
func StartWSL(dir string, u *KernelUser) (_ *WSL, err error) {
	if os.Getuid() != 0 {
		return nil, errors.New("standing in for WSL's interop registers a binfmt_misc handler: root only")
	}
	w := &WSL{dir: dir, Entry: fmt.Sprintf("regcred-test-%d", os.Getpid()), Bin: filepath.Join(dir, "wslbin")}
	defer func() {
		if err != nil {
			w.Stop()
		}
	}()
	if _, err := os.Stat(filepath.Join(binfmtMisc, "register")); err != nil {
		if err := syscall.Mount("binfmt_misc", binfmtMisc, "binfmt_misc", 0, ""); err != nil {
			return nil, fmt.Errorf("mount binfmt_misc: %w", err)
		}
		w.mountedMisc = true
	}
	if other := windowsHandlers(); len(other) > 0 {
		return nil, fmt.Errorf("another binfmt_misc handler already runs Windows programs (%s): interop could not be switched off", strings.Join(other, ", "))
	}
	if err := os.Chmod(dir, 0o755); err != nil { // for u to reach its prefix
		return nil, err
	}
	if w.Wine, err = StartWineAs(filepath.Join(dir, "wine"), u); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(w.Bin, 0o755); err != nil {
		return nil, err
	}
	handler := filepath.Join(w.Bin, "interop-handler")
	if err := WriteProgram(handler, fmt.Appendf(nil, wslHandler, w.Wine.Prefix, w.Wine.userName(), wine64), 0o755); err != nil {
		return nil, err
	}
	// WSL's PATH holds Windows' system32: cmd.exe is a Windows program,
	// run through the handler. wslpath is a Linux one.
	cmdExe, err := os.ReadFile(filepath.Join(w.Wine.Prefix, "drive_c", "windows", "system32", "cmd.exe"))
	if err != nil {
		return nil, err
	}
	if err := WriteProgram(filepath.Join(w.Bin, "cmd.exe"), cmdExe, 0o755); err != nil {
		return nil, err
	}
	wslpath := fmt.Sprintf("#!/bin/sh\n# wslpath -u WINDOWS-PATH, by Wine's winepath.\n[ \"$1\" = -u ] || { echo \"wslpath: only -u here\" >&2; exit 1; }\nunset TMPDIR\nWINEPREFIX=%q WINEDEBUG=-all USER=%q %s winepath -u \"$2\" | tr -d '\\r' | sed 's,/$,,'\n",
		w.Wine.Prefix, w.Wine.userName(), wine64)
	if err := WriteProgram(filepath.Join(w.Bin, "wslpath"), []byte(wslpath), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(binfmtMisc, "register"), []byte(fmt.Sprintf(":%s:M::MZ::%s:", w.Entry, handler)), 0); err != nil {
		return nil, fmt.Errorf("register the binfmt_misc handler: %w", err)
	}
	if _, err := os.Stat(wslRunDir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(wslRunDir, 0o755); err != nil {
			return nil, err
		}
		w.madeRunDir = true
	}
	if err := w.ServeInterop(); err != nil {
		return nil, err
	}
	return w, nil
}

// windowsHandlers are the enabled binfmt_misc handlers of Windows programs.
func windowsHandlers() []string {
	entries, _ := os.ReadDir(binfmtMisc)
	var found []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(binfmtMisc, e.Name()))
		if err == nil && strings.HasPrefix(string(b), "enabled\n") && strings.Contains(string(b), "\nmagic 4d5a\n") {
			found = append(found, e.Name())
		}
	}
	return found
}

// ServeInterop serves the interop socket, /run/WSL/PID_interop, as a
// session's interop server does.
func (w *WSL) ServeInterop() error {
	w.Socket = filepath.Join(wslRunDir, fmt.Sprintf("%d_interop", os.Getpid()))
	os.Remove(w.Socket)
	l, err := net.Listen("unix", w.Socket)
	if err != nil {
		return fmt.Errorf("serve the interop socket: %w", err)
	}
	if err := os.Chmod(w.Socket, 0o777); err != nil {
		l.Close()
		return err
	}
	w.listener = l
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return nil
}

// StopInterop stops serving the socket and removes it, as when the
// session that served it ends.
func (w *WSL) StopInterop() {
	if w.listener != nil {
		w.listener.Close()
		w.listener = nil
	}
}

// SetInterop switches the handler on or off, as [interop] enabled in
// /etc/wsl.conf does.
func (w *WSL) SetInterop(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return os.WriteFile(filepath.Join(binfmtMisc, w.Entry), []byte(v), 0)
}

// Env is what WSL sets in a session: its distribution's name and the
// interop socket.
func (w *WSL) Env() map[string]string {
	return map[string]string{"WSL_DISTRO_NAME": "regcred-test", "WSL_INTEROP": w.Socket}
}

// Stop removes the handler, stops the socket and Wine, and removes what
// StartWSL made outside dir.
func (w *WSL) Stop() {
	if w.Entry != "" {
		_ = os.WriteFile(filepath.Join(binfmtMisc, w.Entry), []byte("-1"), 0)
	}
	w.StopInterop()
	if w.Wine != nil {
		w.Wine.Stop()
	}
	if w.madeRunDir {
		os.RemoveAll(wslRunDir)
	}
	if w.mountedMisc {
		_ = syscall.Unmount(binfmtMisc, 0)
	}
}
