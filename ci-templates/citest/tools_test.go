package citest

import (
	"os/exec"
	"testing"
)

// requireTool fails (never skips) when a tool the tests need is missing:
// `make test` installs them (make tools), so CI always runs these checks.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run `make tools` (Debian packages shellcheck, buildah, rsync)", name)
	}
	return p
}
