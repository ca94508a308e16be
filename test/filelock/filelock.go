// Package filelock serializes work across processes of one machine with an
// exclusive flock: building a stack server once, one real node at a time,
// one cold cross-compile of the release at a time.
package filelock

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// poll is how often a waiter retries; flock has no timeout of its own, and
// a blocking flock could not be cancelled by ctx.
const poll = 100 * time.Millisecond

// Lock takes an exclusive flock on path (created if missing) and returns its
// unlock. It polls so ctx can cancel the wait. If stop reports true while
// waiting (the work the lock guards has been done by the holder), it returns
// a no-op unlock without the lock.
func Lock(ctx context.Context, path string, stop func() bool) (func(), error) {
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		unlock, err := TryLock(path)
		if err != nil || unlock != nil {
			return unlock, err
		}
		if stop != nil && stop() {
			return func() {}, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-tick.C:
		}
	}
}

// TryLock takes an exclusive flock on path (created if missing) if no one
// holds it, and returns its unlock; it returns a nil unlock if the lock is
// held, in this process or another.
func TryLock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	switch err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err {
	case nil:
		return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
	case syscall.EWOULDBLOCK:
		f.Close()
		return nil, nil
	default:
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
}
