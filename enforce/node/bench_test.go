package node

import (
	"context"
	"testing"

	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// BenchmarkNodeDecision is the plugin's time per container creation:
//   - verdict: the pod carries the webhook's verdict (signature, claim,
//     rule match; no registry request). Target: under 1 ms.
//   - verify-cached: no verdict, the decision kept by the node's cache
//     (a restarted container, a second pod of a workload).
//   - verify: no verdict, a full verification against an in-process
//     registry on loopback (the engine's cost without the network's).
func BenchmarkNodeDecision(b *testing.B) {
	f := newFixture(b, testworld.Options{})
	ctx := context.Background()
	app := f.w.Ref("apps/app:v1")
	withV := withVerdict(req("apps", "app-5f9c-x7k2", app, f.signed), f.verdictFor(b, "apps", "app-5f9c-", true, f.signed, f.now))
	plain := req("apps", "app-5f9c-x7k2", app, f.signed)
	run := func(b *testing.B, g *Guard, r Request, want Path) {
		if got := g.Decide(ctx, r); !got.Allowed || got.Path != want {
			b.Fatalf("allowed=%v path=%s (%s)", got.Allowed, got.Path, got.Reason)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			g.Decide(ctx, r)
		}
	}
	b.Run("verdict", func(b *testing.B) { run(b, f.guard, withV, PathVerdict) })
	b.Run("verify-cached", func(b *testing.B) { run(b, f.guard, plain, PathVerify) })
	b.Run("verify", func(b *testing.B) {
		g := *f.guard
		g.Decider = verify.New().Flow() // no cache: every decision verifies
		run(b, &g, plain, PathVerify)
	})
}
