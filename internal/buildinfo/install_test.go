package buildinfo

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/signet-dev/signet/test/testdir"
)

// TestGoInstallReportsTheModuleVersion: `go install .../cmd/sign@v0.99.0`
// from a module proxy (a file:// proxy holding this commit as v0.99.0)
// gives a binary whose `sign version` says v0.99.0, from the build info Go
// records, with no release stamping.
func TestGoInstallReportsTheModuleVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles sign (make unit runs -short; make test runs it)")
	}
	root := testdir.ModuleRoot(t)
	const mod, version = "github.com/signet-dev/signet", "v0.99.0"
	proxy := t.TempDir()
	dir := filepath.Join(proxy, mod, "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The committed tree, as the proxy would serve a tag of it.
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive HEAD | tar -x -C "$2"`, "sh", root, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("git archive HEAD: %v\n%s", err, out)
	}
	var z bytes.Buffer
	if err := zip.CreateFromDir(&z, module.Version{Path: mod, Version: version}, src); err != nil {
		t.Fatalf("zipping HEAD as %s@%s: %v", mod, version, err)
	}
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		version + ".zip": z.Bytes(), version + ".mod": gomod, "list": []byte(version + "\n"),
		version + ".info": []byte(`{"Version":"` + version + `","Time":"2026-01-01T00:00:00Z"}`),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	upstream, _ := exec.Command("go", "env", "GOPROXY").Output()
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", mod+"/cmd/sign@"+version)
	cmd.Dir = t.TempDir()
	// Static and -trimpath, as make test and the release compile: the
	// dependencies then come from the build cache, not a compile of their own.
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-trimpath", "CGO_ENABLED=0", "GOWORK=off",
		"GOPROXY=file://"+filepath.ToSlash(proxy)+","+strings.TrimSpace(string(upstream)),
		"GONOSUMDB="+mod, "GONOSUMCHECK=1", "GOPRIVATE=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s/cmd/sign@%s: %v\n%s", mod, version, err, out)
	}
	out, err := exec.Command(filepath.Join(gobin, "sign"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "sign "+version+"\n") {
		t.Fatalf("sign version of a go install build: %v\n%s", err, out)
	}
}
