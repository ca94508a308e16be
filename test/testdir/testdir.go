// Package testdir finds the repository from a test. go test starts a
// package's tests in its source directory; make test builds with -trimpath,
// so runtime.Caller's file names are module-relative and cannot be used.
package testdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// start is the directory the test binary started in, read before any test
// can change it.
var start, startErr = os.Getwd()

// ModuleRoot is the nearest directory at or above the test's package that
// holds a go.mod: the repository root for signet's packages.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	if startErr != nil {
		t.Fatal(startErr)
	}
	for dir := start; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod at or above %s", start)
		}
	}
}
