package filelock

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestLockExcludesUntilUnlocked: a second Lock of the same file waits until
// the first unlocks (flock is per open file, so two opens in one process
// exclude each other like two processes do), a cancelled wait returns the
// context's error, and stop releases a waiter without the lock.
func TestLockExcludesUntilUnlocked(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := Lock(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*poll)
	defer cancel()
	if _, err := Lock(ctx, p, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Lock while held: %v, want the deadline", err)
	}

	stopped, err := Lock(context.Background(), p, func() bool { return true })
	if err != nil {
		t.Fatalf("Lock with stop: %v", err)
	}
	stopped()

	unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*poll)
	defer cancel2()
	again, err := Lock(ctx2, p, nil)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	again()
}

// TestTryLockDoesNotWait: TryLock takes a free lock, answers at once without
// it while another open holds it, and takes it again once it is released.
func TestTryLockDoesNotWait(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	unlock, err := TryLock(p)
	if err != nil || unlock == nil {
		t.Fatalf("TryLock of a free lock: %v, %v", unlock != nil, err)
	}
	if again, err := TryLock(p); err != nil || again != nil {
		t.Fatalf("TryLock while held: took it %v, err %v; want neither", again != nil, err)
	}
	unlock()
	again, err := TryLock(p)
	if err != nil || again == nil {
		t.Fatalf("TryLock after unlock: %v, %v", again != nil, err)
	}
	again()
}
