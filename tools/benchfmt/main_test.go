package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/golden"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMediansAndTargets: medians over runs (even counts average the middle
// two), the GOMAXPROCS suffix dropped, ratios taken between two benchmarks
// of the same run, and a target whose benchmark did not run says so.
func TestMediansAndTargets(t *testing.T) {
	f, err := os.Open("testdata/input.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := parse(f)
	if r.cpu != "Test CPU @ 2.00GHz" {
		t.Errorf("cpu = %q", r.cpu)
	}
	targets := []target{
		{what: "requests per verification", bench: "BenchmarkVerify/legacy", unit: "requests", atMost: 7},
		{what: "engine vs cosign library", bench: "BenchmarkVerify/cosign-lib", per: "BenchmarkVerify/legacy", unit: "ns/op", atLeast: 2},
		{what: "cached p99", bench: "BenchmarkCached", unit: "p99-ms", atMost: 1},
		{what: "a benchmark not in this run", bench: "BenchmarkMissing", unit: "ns/op", atMost: 1e6},
	}
	var b strings.Builder
	write(&b, r, targets)
	golden.Check(t, "testdata/bench.golden", b.String(), *update)
}
