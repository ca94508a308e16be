package release

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// TestGoBuildStampsTheVersion: the release build's -X flags land in the
// binary (buildinfo's version and commit): `sign version` reports what
// the release was built as, not "devel". (The release is the only image
// build; a stamp naming a variable that does not exist would link silently.)
func TestGoBuildStampsTheVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("links sign (make unit runs -short; make test runs it)")
	}
	o := BuildOptions{Module: moduleRoot(t), Version: "v9.8.7-stamp", Commit: "0123abcd", Epoch: time.Unix(0, 0)}
	bin := filepath.Join(t.TempDir(), "sign")
	b := Binary{Name: "sign", Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if err := GoBuild(context.Background(), b, bin, o); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if want := "sign v9.8.7-stamp\ncommit   0123abcd"; err != nil || !strings.HasPrefix(string(out), want) {
		t.Fatalf("sign version: %v\n%s\nwant it to start %q", err, out, want)
	}
}
