package startup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/startup"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// binaries builds sign and enforce once per test binary, as a user builds
// them (no race detector, no coverage).
var binaries = sync.OnceValues(func() (map[string]string, error) {
	dir, err := os.MkdirTemp("", "signet-startup")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range []string{"sign", "enforce"} {
		out[name] = filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out[name], "../../cmd/"+name)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, err
		}
	}
	return out, nil
})

func bins(b *testing.B) map[string]string {
	b.Helper()
	m, err := binaries()
	if err != nil {
		b.Fatalf("building the binaries: %v", err)
	}
	return m
}

// smallTrust is a two-rule trust file, the "small file".
const smallTrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release
    keyless:
      issuer: https://token.actions.githubusercontent.com
      repository: acme/app
      workflow: .github/workflows/release.yml
      refs: [refs/heads/main]
images:
  - match: [ghcr.io/acme/app]
    signedBy: [release]
  - match: [ghcr.io/acme/tools/**]
    signedBy: [release]
`

// BenchmarkStartup is the whole-process time of short commands (ns/op: fork,
// exec, runtime and package init, the command, exit) and, from
// GODEBUG=inittrace=1, how many package inits ran (inits) and how long they
// took (init-ms, median of 5 traced runs). Go runs every linked package's
// init before main, so these count what the binary links, not what the
// command uses.
func BenchmarkStartup(b *testing.B) {
	m := bins(b)
	lint := filepath.Join(b.TempDir(), "trust.yaml")
	if err := os.WriteFile(lint, []byte(smallTrust), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"sign-version", []string{m["sign"], "version"}},
		{"sign-lint", []string{m["sign"], "policy", "lint", lint}},
		{"enforce-version", []string{m["enforce"], "version"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if out, err := exec.Command(c.args[0], c.args[1:]...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", c.args, err, out)
				}
			}
			reportInittrace(b, c.args...)
		})
	}
	b.Run("sign-verify", benchmarkVerifyProcess)
}

// benchmarkVerifyProcess is `sign verify` of a key-signed image with one
// SLSA v1 attestation (legacy layout, loopback registry), as a process
// (ns/op) and, in the same run, the same verification in-process
// (in-process-ns: verify.Verifier.Verify, as BenchmarkVerifyKeySignedWithSLSA)
// and their ratio (x-in-process; issue 13's target is 2).
func benchmarkVerifyProcess(b *testing.B) {
	m := bins(b)
	w := testworld.New(b, testworld.Options{Policy: testworld.KeyProvenancePolicy})
	w.SignKeyProvenance(w.Push("acme/app:1"), ocisig.LayoutLegacy)
	image := w.Ref("acme/app:1")
	args := []string{"verify", "--policy", w.PolicyPath, image}
	for b.Loop() {
		if out, err := exec.Command(m["sign"], args...).CombinedOutput(); err != nil {
			b.Fatalf("sign verify: %v\n%s", err, out)
		}
	}
	process := b.Elapsed() / time.Duration(b.N)

	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	v := verify.New()
	n := max(b.N, 20)
	t0 := time.Now()
	for range n {
		if dec := v.Verify(context.Background(), image, p); !dec.Allowed {
			b.Fatalf("in-process verify denied: %v", dec.Messages())
		}
	}
	inProcess := time.Since(t0) / time.Duration(n)
	b.ReportMetric(float64(inProcess.Nanoseconds()), "in-process-ns")
	b.ReportMetric(float64(process)/float64(inProcess), "x-in-process")
	reportInittrace(b, append([]string{m["sign"]}, args...)...)
}

// reportInittrace reports the median of 5 traced runs of args.
func reportInittrace(b *testing.B, args ...string) {
	b.Helper()
	var inits []int
	var ms []float64
	for range 5 {
		t, err := startup.Inittrace(context.Background(), args[0], args[1:]...)
		if err != nil {
			b.Fatal(err)
		}
		inits, ms = append(inits, t.Inits), append(ms, t.InitMS)
	}
	slices.Sort(inits)
	slices.Sort(ms)
	b.ReportMetric(float64(inits[2]), "inits")
	b.ReportMetric(ms[2], "init-ms")
}
