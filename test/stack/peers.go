package stack

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The peers: the verifiers teams arrive from, built from the module proxy so
// that `sign policy import` is held to their own decisions (test/e2e's
// agreement tests). Each module has replace directives of its own, so each
// is built from a throwaway module that requires it and copies them; they
// share no build with the servers (other Kubernetes and Sigstore versions),
// and the largest (Kyverno's CLI, ~400 MB) is built in its own lane
// (PeerLane) beside the servers'.
var (
	// ToolKyverno is Kyverno's CLI: `kubectl-kyverno apply policy.yaml
	// --resource pod.yaml` verifies images with the engine of Kyverno's
	// admission controller (ClusterPolicy verifyImages and
	// ImageValidatingPolicy).
	ToolKyverno = peerTool("kubectl-kyverno", "github.com/kyverno/kyverno", "v1.19.1", "cmd/cli/kubectl-kyverno")
	// ToolPolicyTester is sigstore policy-controller's policy-tester: it
	// decides one image under a ClusterImagePolicy (and TrustRoot) file as
	// the admission controller does.
	ToolPolicyTester = peerTool("policy-tester", "github.com/sigstore/policy-controller", "v0.13.1", "cmd/tester")
)

// PeerLane names the tools stackbuild builds in a second lane, beside the
// servers: their builds share nothing with the servers', and a lane of
// their own overlaps their long links with the servers' compiles.
const PeerLane = "peers"

func peerTool(name, mod, ver, pkg string) Tool {
	return Tool{Name: name, Module: mod, Version: ver, Package: mod + "/" + pkg,
		throwawayModule: replacingModule(mod, ver), lane: PeerLane}
}

// replacingModule writes a throwaway module that requires mod@ver with the
// replace directives and go version of mod's own go.mod, as `go install`
// would build it if it allowed replaces.
func replacingModule(mod, ver string) func(dir string) error {
	return func(dir string) error {
		gomod, err := moduleGoMod(dir, mod, ver)
		if err != nil {
			return err
		}
		goVersion, replaces := moduleDirectives(gomod)
		var b bytes.Buffer
		fmt.Fprintf(&b, "module signet.local/peerbuild\n\ngo %s\n\nrequire %s %s\n", goVersion, mod, ver)
		if len(replaces) > 0 {
			fmt.Fprintf(&b, "\nreplace (\n\t%s\n)\n", strings.Join(replaces, "\n\t"))
		}
		return os.WriteFile(filepath.Join(dir, "go.mod"), b.Bytes(), 0o644)
	}
}

// moduleDirectives reads a go.mod's go version (at least 1.26, the
// toolchain's) and its replace directives, single or in a block, without
// comments.
func moduleDirectives(gomod []byte) (goVersion string, replaces []string) {
	goVersion = "1.26"
	inBlock := false
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		line = strings.TrimSpace(line)
		switch {
		case inBlock && line == ")":
			inBlock = false
		case inBlock && strings.Contains(line, "=>"):
			replaces = append(replaces, line)
		case line == "replace (":
			inBlock = true
		case strings.HasPrefix(line, "replace ") && strings.Contains(line, "=>"):
			replaces = append(replaces, strings.TrimSpace(strings.TrimPrefix(line, "replace ")))
		case strings.HasPrefix(line, "go "):
			if v := strings.TrimSpace(strings.TrimPrefix(line, "go ")); versionLess(goVersion, v) {
				goVersion = v
			}
		}
	}
	return goVersion, replaces
}

// versionLess compares dotted Go versions ("1.26" < "1.26.6").
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			fmt.Sscan(as[i], &x)
		}
		if i < len(bs) {
			fmt.Sscan(bs[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Kyverno returns the path of Kyverno's CLI, building it on first use.
func Kyverno(t testing.TB) string { return ensureTool(t, ToolKyverno) }

// PolicyTester returns the path of policy-controller's policy-tester,
// building it on first use.
func PolicyTester(t testing.TB) string { return ensureTool(t, ToolPolicyTester) }

// PeerEnv is the environment a peer runs in: its own home, and no way out
// of the machine (a peer that reaches for public-good's TUF or Rekor fails
// at once instead of waiting on the network).
func PeerEnv(t testing.TB) []string { return CosignEnv(t) }

// RunPeer runs a peer's CLI with env and returns its combined output and
// exit code (an error only when it could not run).
func RunPeer(ctx context.Context, bin string, env []string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode(), nil
	}
	return string(out), 0, err
}
