package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// lock takes the exclusive writers' lock at path, waiting at most timeout,
// and returns its release.
func lock(ctx context.Context, path string, timeout time.Duration) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("writers' lock: %w (make %s a directory you own)", err, filepath.Dir(path))
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	got := make(chan error, 1)
	go func() { got <- fl.Lock() }()
	select {
	case err := <-got:
		if err != nil {
			return nil, fmt.Errorf("writers' lock: %w (make %s a file you own, or remove it)", err, path)
		}
		return func() { _ = fl.Unlock() }, nil
	case <-ctx.Done():
		go func() { // release the lock if it is granted after we gave up
			if <-got == nil {
				_ = fl.Unlock()
			}
		}()
		return nil, fmt.Errorf("another docker-credential-regcred holds %s (waited %s)", path, timeout)
	}
}
