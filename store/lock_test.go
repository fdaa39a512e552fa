package store

import (
	"context"
	"os"
	"path/filepath"
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
