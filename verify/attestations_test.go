package verify_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// TestLargestPredicateIsBoundedInTimeAndMemory: an SBOM just under what
// signet reads is fetched, decoded and evaluated within bounds; one above
// it is refused without being read, as an answer about the image (not a
// registry failure, so not retried as one).
func TestLargestPredicateIsBoundedInTimeAndMemory(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New()
	for _, tc := range []struct {
		name  string
		size  int
		allow bool
	}{
		{"2.8 MB SBOM", 2800 << 10, true},
		{"5 MB SBOM", 5 << 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := w.Push("acme/attested/app:" + strings.ReplaceAll(tc.name, " ", "-"))
			s := w.GitHub("acme/app", "refs/heads/main")
			w.Sign(d, d, s, ocisig.LayoutBundle)
			w.Attest(d, d, s, ocisig.LayoutBundle, policy.PredicateVuln, testworld.TrivyScan())
			w.Attest(d, d, s, ocisig.LayoutBundle, policy.PredicateCycloneDX, testworld.HugeBOM(tc.size))
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			dec := v.Verify(context.Background(), d.String(), p)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			if dec.Allowed != tc.allow || dec.Transient {
				t.Fatalf("allowed=%v transient=%v, want allowed=%v, not transient: %v", dec.Allowed, dec.Transient, tc.allow, dec.Messages())
			}
			if !tc.allow && !dec.Has(verify.CodeTooLarge) {
				t.Fatalf("refused without saying it is too large: %v", dec.Messages())
			}
			// Measured 74 MiB and 0.6 s on a loaded 2-core machine: the
			// bundle, the statement, its decoded form, the conditions'
			// flat lists.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 160<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
			if took > 10*time.Second {
				t.Errorf("took %v", took)
			}
			t.Logf("%s: %v, %d MiB allocated", tc.name, took, (after.TotalAlloc-before.TotalAlloc)>>20)
		})
	}
}
