package launch

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// command is a command the session runs: as its user, if it has one.
func (s *Session) command(name string, args ...string) *exec.Cmd {
	return commandAs(s.user, name, args...)
}

// commandAs is a command run as user u (nil: this process's user).
func commandAs(u *KernelUser, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	if u != nil {
		uid := uint32(u.UID)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	return cmd
}

// Login is the name of the session keyring the user's processes share, as
// the processes of one login do (pam_keyinit gives each login its own).
const Login = "regcred-test-login"

// Command runs name as the user (setpriv drops root's capabilities with
// its uid) in the session keyring session, with exactly env.
func (u *KernelUser) Command(env map[string]string, session, name string, args ...string) *exec.Cmd {
	cmd := exec.Command("sh", append([]string{"-c", u.script(session), "sh", name}, args...)...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Dir = u.Home
	return cmd
}

// script runs "$1" with the remaining arguments as the user, in the named
// session keyring (keyctl announces joining it on stderr: that line is
// dropped, and the program gets the caller's stderr back).
// The programs it runs are named by their paths on the test's PATH: the
// program's own PATH may be a test's (one without /usr/bin).
func (u *KernelUser) script(session string) string {
	return fmt.Sprintf(`exec %s --reuid %d --regid %d --clear-groups -- %s session %s /bin/sh -c 'exec 2>&3 3>&-; exec "$0" "$@"' "$@" 3>&2 2>/dev/null`,
		lookPath("setpriv"), u.UID, u.UID, lookPath("keyctl"), session)
}

// lookPath is name's path on this process's PATH, or name if it is not
// there (the script then fails saying so).
func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

// Wrap returns an executable that runs bin as the user in the Login
// session, for programs that exec a credential helper themselves (docker,
// crane, the helpers' client package) and for the tests' own calls.
func (u *KernelUser) Wrap(bin string) (string, error) {
	w := filepath.Join(u.bin, filepath.Base(bin))
	script := fmt.Sprintf("#!/bin/sh\nset -- %q \"$@\"\n%s\n", bin, u.script(Login))
	if old, err := os.ReadFile(w); err == nil && string(old) == script {
		return w, nil
	}
	if err := WriteProgram(w, []byte(script), 0o755); err != nil {
		return "", err
	}
	return w, nil
}

// WriteProgram writes a program this process may run at once. A child
// another goroutine forks while the file is open for writing holds it
// open until it execs, and running the program meanwhile fails with "text
// file busy" (golang/go#22315; seen: eight concurrent kubectl-regcred
// exports). So it is written holding syscall.ForkLock, which fork takes.
func WriteProgram(path string, data []byte, mode os.FileMode) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	return os.WriteFile(path, data, mode)
}

// own gives everything under the session's directory to its user.
func (s *Session) own() error {
	if s.user == nil {
		return nil
	}
	return s.user.Own(s.Dir)
}

// display is a private X server (Xvfb) a provider shows its questions on,
// with a window manager as on a desktop: without one, KeePassXC 2.7.4
// closed its own questions at random (a delete confirmation before any
// answer in 2 of 4 runs).
type display struct {
	name string // DISPLAY
	cmd  *exec.Cmd
	wm   *exec.Cmd // openbox
}

// startDisplay starts Xvfb on a free display number, open to every local
// user (-ac: the provider runs as another user than the harness), and
// never reset (-noreset: by default the server resets when its last client
// leaves, and refuses connections meanwhile — openbox, started just after
// the harness's first probe left, failed to open the display so).
func startDisplay(dir string) (*display, error) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		return nil, errors.New("no Xvfb on PATH (Debian package xvfb; `make deps` installs it as root)")
	}
	for _, p := range [][2]string{{"xdotool", "xdotool"}, {"openbox", "openbox"}, {"xprop", "x11-utils"}} {
		if _, err := exec.LookPath(p[0]); err != nil {
			return nil, fmt.Errorf("%s not found on PATH (Debian package %s; `make deps` installs it as root)", p[0], p[1])
		}
	}
	for range 20 {
		n := 100 + rand.IntN(900)
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		cmd, err := startLogged(filepath.Join(dir, "xvfb.log"), "Xvfb", fmt.Sprintf(":%d", n), "-ac", "-noreset", "-nolisten", "tcp", "-screen", "0", "1024x768x24")
		if err != nil {
			return nil, err
		}
		d := &display{name: fmt.Sprintf(":%d", n), cmd: cmd}
		for range 100 {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", n)); err == nil {
				return d, d.startWM(dir)
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.stop()
	}
	return nil, errors.New("no free X display: Xvfb started on none of 20 tried")
}

// startWM starts openbox on the display, its files under dir, and
// waits until it manages the screen (the root window names its window
// manager).
func (d *display) startWM(dir string) error {
	home := filepath.Join(dir, "openbox") // its own: it writes a cache
	if err := os.MkdirAll(home, 0o700); err != nil {
		d.stop()
		return err
	}
	// The socket is there before the server takes connections: a window
	// manager started too soon finds no display and exits.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		cmd := exec.Command("xdotool", "getdisplaygeometry")
		cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
		if cmd.Run() == nil {
			break
		}
		if time.Now().After(deadline) {
			d.stop()
			return fmt.Errorf("the display %s (Xvfb) took no connection in 30s", d.name)
		}
	}
	wm := exec.Command("openbox", "--sm-disable")
	wm.Env = append(os.Environ(), "DISPLAY="+d.name, "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home, "XDG_DATA_HOME="+home)
	if logf, err := os.Create(filepath.Join(home, "openbox.log")); err == nil {
		wm.Stdout, wm.Stderr = logf, logf
		defer logf.Close()
	}
	if err := wm.Start(); err != nil {
		d.stop()
		return fmt.Errorf("start openbox: %w", err)
	}
	d.wm = wm
	var out []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		cmd := exec.Command("xprop", "-root", "_NET_SUPPORTING_WM_CHECK")
		cmd.Env = append(os.Environ(), "DISPLAY="+d.name)
		var err error
		if out, err = cmd.CombinedOutput(); err == nil && strings.Contains(string(out), "window id") {
			return nil
		}
	}
	d.stop()
	log, _ := os.ReadFile(filepath.Join(home, "openbox.log"))
	return fmt.Errorf("openbox did not take the display in 30s (xprop: %.200q; its log: %.500q)", out, log)
}

func (d *display) stop() {
	if d != nil {
		if d.wm != nil {
			stopProcess(d.wm)
		}
		stopProcess(d.cmd)
	}
}

// Question is a window a provider asks a person something in: KeePassXC's
// access request, or its delete confirmation.
const Question = "Access Request|Delete|Remove"

// AnswerBy waits up to limit for the provider to ask a person something
// (a window named by Question) and answers as allow says of it (its
// window's name), as a person would, the question raised and focused and
// the keys typed: to allow, Return on an access request (Allow is its default
// button) and Tab, Space on a delete confirmation (whose default is
// Cancel); to refuse, Escape (Deny, Cancel).
func (s *Session) AnswerBy(allow func(question string) bool, limit time.Duration) error {
	if s.display == nil {
		return errors.New("the session's provider has no display to ask on")
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ws := s.questions(); len(ws) > 0 {
			name, _ := s.xdotool("getwindowname", ws[0])
			s.answer(ws[0], allow(strings.TrimSpace(name)), deadline)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s asked nothing in %v", s.Provider, limit)
}

// answer answers question window w as Answer says, until the question goes
// or deadline passes.
func (s *Session) answer(w string, allow bool, deadline time.Time) {
	name, _ := s.xdotool("getwindowname", w)
	key, again := []string{"Escape"}, true
	if allow && strings.Contains(name, "Delete") {
		// Tab moves the focus off Cancel, the default, to Delete: sent
		// twice it would move it back, so it is sent once.
		key, again = []string{"Tab", "space"}, false
	} else if allow {
		key = []string{"Return"}
	}
	// A key sent the moment a window appears can be lost: let it settle,
	// and send again while the same question stays (where sending again
	// is safe). X may give the next question the same window id: a new
	// name, or the window closing, ends this one.
	time.Sleep(300 * time.Millisecond)
	for sent := false; time.Now().Before(deadline); sent = true {
		if !sent || again {
			// As a person would: the window raised and focused (through
			// the window manager), then the keys typed (XTEST).
			_, _ = s.xdotool(append([]string{"windowactivate", "--sync", w, "key", "--clearmodifiers"}, key...)...)
		}
		for range 50 {
			if now, err := s.xdotool("getwindowname", w); err != nil || now != name || !slices.Contains(s.questions(), w) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// AllowAll answers, from now until the session stops, every question the
// provider asks with yes, as a person who allows every access and confirms
// every delete would (AnswerBy's keys): the suites that run KeePassXC on its
// defaults and are not about its questions.
func (s *Session) AllowAll() {
	if s.display == nil {
		return
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	s.stopAnswering = func() { close(stop); <-done }
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for _, w := range s.questions() {
				s.answer(w, true, time.Now().Add(10*time.Second))
			}
		}
	}()
}

// questions are the windows asking a question now.
func (s *Session) questions() []string {
	out, _ := s.xdotool("search", "--onlyvisible", "--name", Question)
	return strings.Fields(out)
}

// Asking reports whether the provider shows a question now.
func (s *Session) Asking() bool { return len(s.questions()) > 0 }

func (s *Session) xdotool(args ...string) (string, error) {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+s.display.name)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
