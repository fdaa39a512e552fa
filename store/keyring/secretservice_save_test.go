//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import "testing"

// TestSaveSigns: the descriptors that say KeePassXC is saving, and those
// it always holds.
func TestSaveSigns(t *testing.T) {
	tests := []struct {
		target, fdinfo string
		want           bool
	}{
		{"/home/u/db/#9978476 (deleted)", "pos:\t0\nflags:\t022300002\n", true}, // QSaveFile, O_TMPFILE
		{"/home/u/db/Passwords.kdbx", "pos:\t0\nflags:\t01101\n", true},         // DirectWrite
		{"/tmp/qt_temp.XjKqsd", "flags:\t0100002\n", true},                      // TempFile
		{"/home/u/db/Passwords.kdbx", "flags:\t0100000\n", false},               // read only
		{"/tmp/keepassxc.lock", "flags:\t02100002\n", false},                    // its lock, always held
		{"/dev/urandom", "flags:\t0100002\n", false},
		{"/home/u/.cache/#12 (deleted)", "", false}, // no flags line
		{"socket:[123]", "flags:\t02\n", false},
		{"/home/u/notes (deleted)", "flags:\t01\n", false},
	}
	for _, tt := range tests {
		got := savedFile(tt.target) && openForWriting(tt.fdinfo)
		if got != tt.want {
			t.Errorf("%s %q: saving %v, want %v", tt.target, tt.fdinfo, got, tt.want)
		}
	}
}
