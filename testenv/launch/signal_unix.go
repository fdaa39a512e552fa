//go:build unix

package launch

import "syscall"

// Pause stops gnome-keyring-daemon (SIGSTOP): it stays on the bus but
// answers nothing, as a keyring waiting on a prompt does. Resume undoes it.
func (s *Session) Pause() error { return s.keyring.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused gnome-keyring-daemon.
func (s *Session) Resume() error { return s.keyring.Process.Signal(syscall.SIGCONT) }
