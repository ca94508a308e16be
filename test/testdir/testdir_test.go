package testdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleRootIsTheRepository: from this package's directory (two below
// the root) ModuleRoot finds signet's go.mod.
func TestModuleRootIsTheRepository(t *testing.T) {
	root := ModuleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module github.com/signet-dev/signet\n") {
		t.Fatalf("ModuleRoot %s: %v\n%.80s", root, err, b)
	}
	if wd, _ := os.Getwd(); filepath.Join(root, "test", "testdir") != wd {
		t.Fatalf("ModuleRoot %s is not two above %s", root, wd)
	}
}
