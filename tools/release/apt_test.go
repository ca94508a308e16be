package release

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestFetchBothArchitectures: Debian's mirror serves the base's packages
// for amd64 and arm64; arch-specific ones come in the requested
// architecture, arch-independent ones (ca-certificates) as "all".
func TestFetchBothArchitectures(t *testing.T) {
	if testing.Short() {
		t.Skip("downloads Debian packages (make unit runs -short; make test runs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := &Fetcher{Source: Debian, Dir: filepath.Join(t.TempDir(), "apt"), Log: t.Logf}
	debs, err := f.Fetch(ctx, []string{"amd64", "arm64"}, append(append([]string{}, BasePackages...), ShellPackages...))
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		got := map[string]string{}
		for _, d := range debs[arch] {
			got[d.Package] = d.Architecture
		}
		if got["ca-certificates"] != "all" || got["busybox-static"] != arch {
			t.Errorf("%s: packages %v, want ca-certificates all and busybox-static %s", arch, got, arch)
		}
	}
}
