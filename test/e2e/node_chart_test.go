package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/tools/release"
)

// chartTrust is the trust file that admits the chart artifact: as the
// release notes' signet-trust.yaml does for the published chart, with the
// test's key instead of the release workflow's identity.
const chartTrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: signet-chart, match: ["REG/signet-dev/charts/signet-enforce"], signedBy: [release-key]}
`

// publishChart does for the chart what a release does, against the stack's
// registry: packages the checkout's chart pinned to the enforce image
// (repo:test@digest), pushes it as the OCI artifact helm pulls
// (<registry>/signet-dev/charts/signet-enforce:<chart version>), signs it
// with the key in dir (sign image --key), and checks it as the README says
// before installing (sign verify). It returns oci://… and the version.
func publishChart(t *testing.T, ctx context.Context, s *stack.Stack, dir string, env []string, repo, digest string) (ociRef, version string) {
	t.Helper()
	dist := t.TempDir()
	file, err := release.PackageChart(repoRoot(t), dist, repo, "test", digest, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	tgz, err := os.ReadFile(filepath.Join(dist, file))
	if err != nil {
		t.Fatal(err)
	}
	chartYAML, err := os.ReadFile(filepath.Join(repoRoot(t), release.ChartDir, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if version, _, err = release.ChartVersions(chartYAML); err != nil {
		t.Fatal(err)
	}
	art, err := release.NewOCIChart(tgz, chartYAML, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	ref := s.Registry.Host + "/signet-dev/" + release.ChartRepository
	if err := art.Push(ctx, ref+":"+version); err != nil {
		t.Fatal(err)
	}
	policyDir := t.TempDir()
	pub, _ := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	os.WriteFile(filepath.Join(policyDir, "cosign.pub"), pub, 0o644)
	policyPath := writePolicy(t, policyDir, strings.ReplaceAll(chartTrust, "REG", s.Registry.Host), nil)
	pinned := ref + "@" + art.Digest.String()
	run(t, dir, env, signBin, "image", "--key", filepath.Join(dir, "cosign.key"), "--policy", policyPath, "--tlog-upload=false", pinned)
	if d, code := signVerify(t, policyPath, pinned); code != 0 || !d.Allowed || len(d.Signatures) == 0 {
		t.Fatalf("sign verify of the chart %s: exit %d %v", pinned, code, d.Messages())
	}
	return "oci://" + ref, version
}
