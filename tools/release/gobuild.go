package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-dev/signet/test/filelock"
)

// Binary is one release binary to build.
type Binary struct {
	Name     string // sign or enforce
	Platform string // linux/amd64
}

// File is the binary's release asset name: sign_linux_amd64.
func (b Binary) File() string { return b.Name + "_" + strings.ReplaceAll(b.Platform, "/", "_") }

// Platforms of the release binaries; the images use the linux ones.
var (
	BinaryPlatforms = []string{"linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64"}
	ImagePlatforms  = []string{"linux/amd64", "linux/arm64"}
	// signet-kms is sign's KMS plugin (cmd/signet-kms), shipped beside it.
	// signet-node is the NRI plugin (cmd/signet-node), for Linux nodes only.
	Commands = []string{"sign", "enforce", "signet-kms", "signet-node"}
	// LinuxOnly commands are built for the Linux platforms only.
	LinuxOnly = []string{"signet-node"}
)

// Matrix is every release binary: each command for each platform.
func Matrix() []Binary {
	var out []Binary
	for _, c := range Commands {
		for _, p := range BinaryPlatforms {
			if slices.Contains(LinuxOnly, c) && !strings.HasPrefix(p, "linux/") {
				continue
			}
			out = append(out, Binary{Name: c, Platform: p})
		}
	}
	return out
}

// ParseBinaries reads "sign/linux/amd64,enforce/linux/arm64".
func ParseBinaries(s string) ([]Binary, error) {
	var out []Binary
	for _, f := range strings.Split(s, ",") {
		name, platform, ok := strings.Cut(strings.TrimSpace(f), "/")
		if !ok || strings.Count(platform, "/") != 1 {
			return nil, fmt.Errorf("binary %q: want command/os/arch, e.g. sign/linux/amd64", f)
		}
		out = append(out, Binary{Name: name, Platform: platform})
	}
	return out, nil
}

// BuildOptions stamp and place the binaries.
type BuildOptions struct {
	Module  string // the source tree (repository root)
	Version string
	Commit  string
	Epoch   time.Time
	// GoEnv is added to the go command's environment (GOCACHE, GOFLAGS...).
	GoEnv []string
}

// buildinfoPkg receives the stamped version and commit.
const buildinfoPkg = "github.com/signet-dev/signet/internal/buildinfo"

// GoBuild compiles b into out: static (CGO_ENABLED=0), -trimpath, no build
// ID, no VCS stamping (the commit is stamped explicitly), so the same
// source, version and toolchain give the same bytes on any machine.
//
// Builds for one platform take a machine-wide lock per Go build cache (see
// buildLock), so concurrent releases share one cold compile.
func GoBuild(ctx context.Context, b Binary, out string, o BuildOptions) error {
	goos, goarch, _ := strings.Cut(b.Platform, "/")
	unlock, err := buildLock(ctx, b.Platform, o)
	if err != nil {
		return fmt.Errorf("go build %s for %s: %w", b.Name, b.Platform, err)
	}
	defer unlock()
	ldflags := fmt.Sprintf("-s -w -buildid= -X %[1]s.version=%[2]s -X %[1]s.commit=%[3]s", buildinfoPkg, o.Version, o.Commit)
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags,
		"-o", out, "./cmd/"+b.Name)
	cmd.Dir = o.Module
	cmd.Env = append(goEnv(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch,
		"SOURCE_DATE_EPOCH="+strconv.FormatInt(o.Epoch.Unix(), 10))
	cmd.Env = append(cmd.Env, o.GoEnv...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", b.Name, b.Platform, err, msg)
	}
	return nil
}

// goEnv is the environment without settings that would make the build
// depend on the caller (GOFLAGS=-mod=..., a workspace, a target platform).
func goEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOFLAGS", "GOWORK", "CGO_ENABLED", "GOOS", "GOARCH", "GOARM64", "GOAMD64", "GOEXPERIMENT":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOWORK=off", "GOFLAGS=-mod=readonly")
}

func goTool() string {
	if p := filepath.Join(os.Getenv("GOROOT"), "bin", "go"); os.Getenv("GOROOT") != "" && isFile(p) {
		return p
	}
	return "go"
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// buildLock serializes builds for one platform that share a Go build cache.
// Two processes compiling the same dependency tree at once both pay for it,
// since the cache is written only when a compile ends: with `go test ./...`,
// tools/release's snapshot and test/e2e's release workflow would each
// cold-compile every platform side by side, on a 2-core CI machine the
// largest waste of a first run. Waiting instead, the second build finds the
// first one's packages in the cache and only links.
func buildLock(ctx context.Context, platform string, o BuildOptions) (func(), error) {
	cmd := exec.CommandContext(ctx, goTool(), "env", "GOCACHE")
	cmd.Dir = o.Module
	cmd.Env = append(goEnv(), o.GoEnv...)
	gocache, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOCACHE: %w", err)
	}
	sum := sha256.Sum256(bytes.TrimSpace(gocache))
	name := fmt.Sprintf("signet-gobuild-%x-%s.lock", sum[:6], strings.ReplaceAll(platform, "/", "-"))
	return filelock.Lock(ctx, filepath.Join(os.TempDir(), name), nil)
}
