package citest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGitLabDockerJobReadsTheDigestBuildxPushed runs the docker builder's
// digest extraction (everything after the buildx call) under sh against the
// metadata file `docker buildx build --push --metadata-file` writes: the
// digest the registry answered with must reach signet-image.ref, and a
// metadata file without one must fail the job.
func TestGitLabDockerJobReadsTheDigestBuildxPushed(t *testing.T) {
	script := strings.Join(jobs(t)["signet-build-docker"].Script, "\n")
	i := strings.Index(script, `digest="$(sed`)
	j := strings.Index(script, "cat signet-image.ref")
	if i < 0 || j < i {
		t.Fatal("docker build script: digest extraction not found")
	}
	tail := "set -eu\nimage=registry.example/acme/app\n" + script[i:j]
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for name, c := range map[string]struct {
		metadata string
		ok       bool
	}{
		"buildx metadata": {`{"buildx.build.ref": "builder/builder0/x", "containerimage.config.digest": "sha256:ffff", "containerimage.digest": "` + digest + `", "image.name": "registry.example/acme/app:1"}`, true},
		"no digest":       {`{"buildx.build.ref": "builder/builder0/x"}`, false},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "build.json"), []byte(c.metadata), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("sh", "-c", tail)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if (err == nil) != c.ok {
				t.Fatalf("exit err=%v, want ok=%v: %s", err, c.ok, out)
			}
			if !c.ok {
				return
			}
			ref, err := os.ReadFile(filepath.Join(dir, "signet-image.ref"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "registry.example/acme/app@" + digest + "\n"; string(ref) != want {
				t.Fatalf("signet-image.ref = %q, want %q", ref, want)
			}
		})
	}
}
