// The writers: each write runs holding the writers' lock, in the order
// the package comment gives.

package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofrs/flock"

	"github.com/regcred/regcred/store/keyring"
)

// begin takes the writers' lock and migrates what older versions left
// (see migrate); it returns the writer, and the lock's release for the
// caller to defer.
func (s *Store) begin(ctx context.Context) (w *writer, unlock func() error, err error) {
	unlock, err = lock(ctx, s.cfg.LockPath, s.cfg.Timeout)
	if err != nil {
		return nil, nil, err
	}
	w = &writer{s: s, ctx: ctx, kr: s.cfg.Keyring}
	if s.cfg.Fault != nil {
		w.kr = faulting{w.kr, s.cfg.Fault}
	}
	if s.legacyPending() {
		if err := w.migrate(); err != nil {
			_ = unlock()
			return nil, nil, err
		}
	}
	return w, unlock, nil
}

// writer carries one locked write sequence.
type writer struct {
	s   *Store
	ctx context.Context
	kr  keyring.Keyring
}

// current reads the item a write replaces: nil when there is none, an
// empty item when it does not decode (it is then simply replaced).
func (w *writer) current(key string) (*item, error) {
	data, err := w.kr.Get(w.ctx, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	it, err := decodeItem(data)
	if err != nil {
		return &item{}, nil
	}
	return &it, nil
}

// put runs the store sequence (see the package comment).
func (w *writer) put(key string, label keyring.Label, data []byte, parts [][]byte) error {
	cur, err := w.current(key)
	if err != nil {
		return err
	}
	content, slot := string(data), ""
	if parts != nil {
		slot = slots[0]
		if cur.slot() == slot {
			slot = slots[1]
		}
		if err := w.clear(key, slot); err != nil {
			return err
		}
		if err := w.writeChunks(key, slot, parts); err != nil {
			return err
		}
		head, err := marshalItem(newHead(label.Server, label.User, slot, data, len(parts)))
		if err != nil {
			return fmt.Errorf("encode chunk head: %w", err)
		}
		content = string(head)
	}
	if err := w.kr.Set(w.ctx, key, label, content); err != nil {
		return err
	}
	return w.clearExcept(key, cur, slot)
}

// erase runs the erase sequence (see the package comment).
func (w *writer) erase(key string) error {
	cur, err := w.current(key)
	if err != nil {
		return err
	}
	if cur != nil && cur.head != nil && !cur.head.E {
		// Mark the item first: chunks deleted under a live head would
		// be a credential get cannot read, not one being erased.
		mark := *cur.head
		mark.A, mark.U, mark.E = "", "", true
		data, err := marshalItem(mark)
		if err != nil {
			return fmt.Errorf("encode erase mark: %w", err)
		}
		if err := w.kr.Set(w.ctx, key, keyring.Label{}, string(data)); err != nil {
			return err
		}
	}
	if err := w.clearExcept(key, cur, ""); err != nil {
		return err
	}
	if cur != nil {
		if err := w.kr.Delete(w.ctx, key); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// writeChunks writes the chunks into slot, in order. If a write fails, it
// deletes what it wrote, last first, unless the write timed out: then it
// may still land, and the next write of the registry clears the slot.
func (w *writer) writeChunks(key, slot string, parts [][]byte) error {
	for i, p := range parts {
		if err := w.kr.Set(w.ctx, chunkName(key, slot, i+1), keyring.Label{}, string(p)); err != nil {
			if !errors.Is(err, keyring.ErrKeyringTimeout) {
				_ = w.deleteDown(key, slot, i)
			}
			return err
		}
	}
	return nil
}

// clearExcept clears every slot of key but keep, and the chunks of cur if
// an older version wrote them (named by a generation, not a slot).
func (w *writer) clearExcept(key string, cur *item, keep string) error {
	for _, slot := range slots {
		if slot != keep {
			if err := w.clear(key, slot); err != nil {
				return err
			}
		}
	}
	if cur != nil && cur.head != nil && cur.head.G != "" {
		return w.deleteNames(cur.head.chunkNames(key))
	}
	return nil
}

// clear deletes the chunks in one of key's slots: it finds the last (a
// slot holds chunks 1..m) and deletes from there down, so that an
// interrupted clear leaves a shorter prefix for the next one.
func (w *writer) clear(key, slot string) error {
	m := 0
	for ; m < maxChunks; m++ {
		_, err := w.kr.Get(w.ctx, chunkName(key, slot, m+1))
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return err
		}
	}
	return w.deleteDown(key, slot, m)
}

// deleteDown deletes chunks m..1 of key's slot.
func (w *writer) deleteDown(key, slot string, m int) error {
	names := make([]string, m)
	for i := range names {
		names[i] = chunkName(key, slot, i+1)
	}
	return w.deleteNames(names)
}

// deleteNames deletes the named chunks, last first.
func (w *writer) deleteNames(names []string) error {
	for i := len(names) - 1; i >= 0; i-- {
		if err := w.kr.Delete(w.ctx, names[i]); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// lockPoll is how often a waiter tries the writers' lock (with jitter, so
// that waiters do not try in step).
const lockPoll = 10 * time.Millisecond

// lock takes the exclusive writers' lock at path and returns its release.
// A waiter waits as long as the lock keeps changing hands — others are
// making progress, as a queue of a hundred `docker login`s on a keyring
// that takes its time does — and gives up only when one holder has kept
// it for longer than timeout. Each holder says who it is in path's holder
// file (holderPath), which waiters read to tell one holder from the next.
func lock(ctx context.Context, path string, timeout time.Duration) (unlock func() error, err error) {
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
			return fl.Unlock, nil
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

// faulting is a keyring that calls fault with the step's name before each
// write: "chunk" and "delete chunk" for a chunk, "item" for anything else
// but the legacy stamp. Crash tests stop a process at an exact step with
// it (Config.Fault). Only a writer's keyring is wrapped: the store's own
// keeps what else it implements (a list cache's Forget).
type faulting struct {
	keyring.Keyring
	fault func(step string)
}

// Set calls fault, then sets account.
func (k faulting) Set(ctx context.Context, account string, label keyring.Label, data string) error {
	if _, chunk := parseChunk(account); chunk {
		k.fault("chunk")
	} else {
		k.fault("item")
	}
	return k.Keyring.Set(ctx, account, label, data)
}

// Delete calls fault, then deletes account.
func (k faulting) Delete(ctx context.Context, account string) error {
	if _, chunk := parseChunk(account); chunk {
		k.fault("delete chunk")
	} else if account != keyring.LegacyStamp {
		k.fault("item")
	}
	return k.Keyring.Delete(ctx, account)
}
