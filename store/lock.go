package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofrs/flock"
)

// lockPoll is how often a waiter tries the writers' lock (with jitter, so
// that waiters do not try in step).
const lockPoll = 10 * time.Millisecond

// lock takes the exclusive writers' lock at path and returns its release.
// A waiter waits as long as the lock keeps changing hands — others are
// making progress, as a queue of a hundred `docker login`s on a keyring
// that takes its time does — and gives up only when one holder has kept
// it for longer than timeout. Each holder says who it is in path's holder
// file (holderPath), which waiters read to tell one holder from the next.
func lock(ctx context.Context, path string, timeout time.Duration) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("writers' lock: %w (make %s a directory you own)", err, filepath.Dir(path))
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	holder, since := "", time.Now()
	for {
		ok, err := fl.TryLock()
		if err != nil {
			return nil, fmt.Errorf("writers' lock: %w (make %s a file you own, or remove it)", err, path)
		}
		if ok {
			// Waiters see the lock change hands; a holder file that cannot
			// be written only makes them measure from when they began.
			token := strconv.Itoa(os.Getpid()) + " " + strconv.FormatInt(time.Now().UnixNano(), 10)
			_ = os.WriteFile(holderPath(path), []byte(token), 0o600)
			return func() { _ = fl.Unlock() }, nil
		}
		if h, _ := os.ReadFile(holderPath(path)); string(h) != holder {
			holder, since = string(h), time.Now()
		}
		if time.Since(since) > timeout {
			return nil, fmt.Errorf("another docker-credential-regcred holds %s (one holder kept it over %s while this one waited)", path, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll/2 + rand.N(lockPoll)):
		}
	}
}

// holderPath is the file in which the writers' lock's holder names itself.
func holderPath(lockPath string) string { return lockPath + ".holder" }
