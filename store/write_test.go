package store

import (
	"context"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockWaitsWhileItChangesHands: a waiter keeps waiting as long as the
// lock passes from holder to holder, each within the bound, though the
// queue as a whole takes several times the bound — here one lock held
// throughout while the holder file names a new holder every 100 ms, as a
// queue of writers does — and gets the lock when it is free.
func TestLockWaitsWhileItChangesHands(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lock")
	const bound, handOff, queue = 400 * time.Millisecond, 100 * time.Millisecond, 12
	release, err := lock(ctx, path, bound)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	start := time.Now()
	go func() {
		r, err := lock(ctx, path, bound)
		if err == nil {
			r()
		}
		waited <- err
	}()
	for i := range queue {
		time.Sleep(handOff)
		if err := os.WriteFile(holderPath(path), []byte("holder "+strconv.Itoa(i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	release()
	if err := <-waited; err != nil {
		t.Fatalf("the waiter gave up while the lock kept changing hands: %v", err)
	}
	if took := time.Since(start); took < queue*handOff {
		t.Errorf("the waiter got the lock after %v, before it was free (%v)", took, queue*handOff)
	}
}

// TestLockGivesUpOnOneHolder: a holder that keeps the lock past the bound
// makes the waiter give up, in one line that says so.
func TestLockGivesUpOnOneHolder(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lock")
	release, err := lock(ctx, path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := time.Now()
	_, err = lock(ctx, path, 300*time.Millisecond)
	took := time.Since(start)
	want := "another docker-credential-regcred holds " + path + " (one holder kept it over 300ms while this one waited)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if took < 300*time.Millisecond || strings.Contains(err.Error(), "\n") {
		t.Errorf("gave up after %v", took)
	}
}

// TestDefaultLockPathOnePerUser (issue 28, point 10): every process of a
// user takes the same writers' lock — it followed XDG_RUNTIME_DIR, so a
// shell and a cron job (which has none) or sudo -u (which can pass on the
// caller's) did not exclude each other. A HOME that is not the user's
// own (sudo -E) gives way to the user database's. (A container's uid that
// no database names keeps its HOME: e2e/helper's container tests.)
func TestDefaultLockPathOnePerUser(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("one local application data directory per user")
	}
	home := t.TempDir()
	want := filepath.Join(home, ".cache", "regcred", "lock")
	other := t.TempDir() // another user's HOME
	if os.Geteuid() == 0 {
		if err := os.Chown(other, 12345, 12345); err != nil {
			t.Fatal(err)
		}
	} else {
		other = "/" // root's
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"login shell", map[string]string{"HOME": home, "XDG_RUNTIME_DIR": "/run/user/1000", "XDG_CACHE_HOME": home + "/.cache"}, want},
		{"cron job", map[string]string{"HOME": home}, want},
		{"sudo -u, the caller's runtime dir", map[string]string{"HOME": home, "XDG_RUNTIME_DIR": "/run/user/1001"}, want},
		{"a cache dir elsewhere", map[string]string{"HOME": home, "XDG_CACHE_HOME": t.TempDir()}, want},
		{"sudo -E, the caller's HOME", map[string]string{"HOME": other}, filepath.Join(u.HomeDir, ".cache", "regcred", "lock")},
		{"no HOME", map[string]string{}, filepath.Join(u.HomeDir, ".cache", "regcred", "lock")},
	}
	for _, tt := range tests {
		got, err := DefaultLockPath(func(k string) string { return tt.env[k] })
		if err != nil || got != tt.want {
			t.Errorf("%s: DefaultLockPath = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}
