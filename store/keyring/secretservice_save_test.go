//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

package keyring

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

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

// TestBlindPacingWaitsForTheSave (issue 28, point 2): for a KeePassXC whose
// open files regcred cannot see (its release builds are undumpable to
// their own user), the next burst of writes waits until the database file
// shows the last burst's save ended — here 1.2 s after it began, as with
// KeePassXC's default one-second key derivation (it waited 500 ms, and
// wrote into the save) — and no longer; a burst goes on while it is
// young; with no file to watch it waits the whole blindSaveLimit.
func TestBlindPacingWaitsForTheSave(t *testing.T) {
	dir := t.TempDir()
	db, burst := filepath.Join(dir, "db.kdbx"), filepath.Join(dir, "lock.keepassxc")
	if err := os.WriteFile(db, []byte("v1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := beforeWriteBlind(time.Minute, burst, []string{db}); err != nil { // the first burst
		t.Fatal(err)
	}
	start := time.Now()
	if err := beforeWriteBlind(time.Minute, burst, []string{db}); err != nil || time.Since(start) > burstLength {
		t.Fatalf("a write in a young burst waited %v (%v)", time.Since(start), err)
	}
	time.Sleep(burstLength) // the burst is over; its save is under way
	saved := make(chan time.Time, 1)
	go func() {
		time.Sleep(1200 * time.Millisecond)
		_ = os.WriteFile(db+".tmp", []byte("v2, saved"), 0o600)
		ended := time.Now()
		_ = os.Rename(db+".tmp", db) // as QSaveFile ends a save
		saved <- ended
	}()
	if err := beforeWriteBlind(time.Minute, burst, []string{db}); err != nil {
		t.Fatal(err)
	}
	done, at := time.Now(), <-saved
	if done.Before(at) {
		t.Errorf("the next burst began %v before the save ended", at.Sub(done))
	}
	if done.Sub(at) > time.Second {
		t.Errorf("the next burst began %v after the save ended", done.Sub(at))
	}
	// No database file known: the whole bound.
	time.Sleep(burstLength)
	start = time.Now()
	if err := beforeWriteBlind(time.Minute, burst, nil); err != nil || time.Since(start) < blindSaveLimit-2*burstLength {
		t.Errorf("with no file to watch the next burst waited %v (%v), want about %v", time.Since(start), err, blindSaveLimit)
	}
	// A record a killed writer left unreadable is not a young burst: its
	// save was never seen, so the whole bound (it was let straight in,
	// into whatever save the killed writer's changes had started).
	if err := os.WriteFile(burst, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := beforeWriteBlind(time.Minute, burst, []string{db}); err != nil || time.Since(start) < blindSaveLimit-2*burstLength {
		t.Errorf("after an unreadable record the next burst waited %v (%v), want about %v", time.Since(start), err, blindSaveLimit)
	}
}
