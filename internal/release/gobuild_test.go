package release

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGoBuildWaitsForTheSamePlatform: while one build of a platform holds
// the lock of this Go build cache, another build of that platform waits (so
// concurrent releases compile the shared dependencies once) and a build of
// another platform does not.
func TestGoBuildWaitsForTheSamePlatform(t *testing.T) {
	o := BuildOptions{Module: moduleRoot(t), Version: "devel", Epoch: time.Unix(0, 0)}
	unlock, err := buildLock(context.Background(), "plan9/mips", o)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = GoBuild(ctx, Binary{Name: "sign", Platform: "plan9/mips"}, os.DevNull, o)
	if err == nil || !strings.Contains(err.Error(), "waiting for lock") {
		t.Fatalf("a second build of a locked platform: %v, want it to wait for the lock", err)
	}
	other, err := buildLock(context.Background(), "plan9/arm", o)
	if err != nil {
		t.Fatalf("another platform's lock: %v", err)
	}
	other()
}
