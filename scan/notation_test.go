package scan_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-dev/signet/scan"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const notationEnginePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-notation
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme, CN: release}
      revocation: {timeout: 300ms}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [acme-notation]}
  - {name: rest, match: ["**"], deny: only approved registries}
`

// TestEngineSeesNotationSignatures: the background verifier and `sign
// audit` decide Notation-signed workloads through the same engine: a
// trusted signature passes with its identity, a revoked certificate fails
// with the reason the webhook gives, and an unreachable responder is an
// error (retried on the next pass, never remembered).
func TestEngineSeesNotationSignatures(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: notationEnginePolicy})
	ca := notationtest.NewCA(t, "Acme")
	if err := os.WriteFile(filepath.Join(w.Dir, "acme-root.pem"), ca.RootPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	signed, revoked, unreachable := w.Push("acme/app:1"), w.Push("acme/revoked:1"), w.Push("acme/down:1")
	notationtest.Attach(t, signed, signed, ca.Leaf(t), notationtest.SignOptions{})
	leaf := ca.Leaf(t)
	notationtest.Attach(t, revoked, revoked, leaf, notationtest.SignOptions{})
	ca.Revocation.Revoke(leaf)
	notationtest.Attach(t, unreachable, unreachable, ca.Leaf(t), notationtest.SignOptions{})
	e := &scan.Engine{Decider: verify.New().Flow()}
	ctx := context.Background()

	fs := e.Decide(ctx, scan.Batch{Policy: p, Targets: append(runningPod("prod", "a", signed.String()), runningPod("prod", "b", revoked.String())...)})
	if fs[0].Result != scan.Pass || len(fs[0].Identities) != 1 || fs[0].Identities[0] != "acme-notation" {
		t.Fatalf("Notation-signed workload: %+v", fs[0])
	}
	if fs[1].Result != scan.Fail || !strings.Contains(fs[1].Reason, "is revoked") {
		t.Fatalf("revoked certificate: %+v", fs[1])
	}
	ca.Revocation.Set(notationtest.Down)
	fs = e.Decide(ctx, scan.Batch{Policy: p, Targets: runningPod("prod", "c", unreachable.String())})
	if fs[0].Result != scan.Error || !strings.Contains(fs[0].Reason, "revocation status") {
		t.Fatalf("unreachable responder: %+v", fs[0])
	}
	ca.Revocation.Set(notationtest.Up)
	fs = e.Decide(ctx, scan.Batch{Policy: p, Targets: runningPod("prod", "c", unreachable.String())})
	if fs[0].Result != scan.Pass {
		t.Fatalf("after the responder came back: %+v (an error was remembered?)", fs[0])
	}
}
