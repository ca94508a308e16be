package main

import (
	"fmt"
	"strconv"
)

// target is one figure an issue asks for: a metric of one benchmark, or
// the ratio of two benchmarks' ns/op measured in the same run.
type target struct {
	what  string
	bench string // the metric's benchmark, or the ratio's numerator
	unit  string
	per   string // when set, the value is bench's unit over per's
	atMost,
	atLeast float64
}

func (t target) measure(r *results) (float64, bool) {
	v, ok := r.get(t.bench, t.unit)
	if !ok || t.per == "" {
		return v, ok
	}
	d, ok := r.get(t.per, t.unit)
	if !ok || d == 0 {
		return 0, false
	}
	return v / d, true
}

// format renders a measured value: a ratio as "2.31x", a metric in its unit.
func (t target) format(v float64) string {
	if t.per != "" {
		return strconv.FormatFloat(v, 'f', 2, 64) + "x"
	}
	return format(t.unit, v)
}

func (t target) met(v float64) bool {
	if t.atLeast != 0 {
		return v >= t.atLeast
	}
	return v <= t.atMost
}

func (t target) wanted() string {
	unit := t.unit
	if t.per != "" {
		unit = "x"
	}
	if t.unit == "ns/op" && t.per == "" {
		return fmt.Sprintf("<= %s", format("ns/op", t.atMost))
	}
	if t.atLeast != 0 {
		return ">= " + strconv.FormatFloat(t.atLeast, 'f', -1, 64) + " " + unit
	}
	return "<= " + strconv.FormatFloat(t.atMost, 'f', -1, 64) + " " + unit
}

// defaultTargets are issue 13's and issue 28's targets, by the benchmarks that measure them.
var defaultTargets = []target{
	// 1. Requests and connections of a verification (process warm: the
	// registry's ping is reused, as in a webhook; a cold process adds one).
	{what: "verify legacy: registry requests (floor 7 cold, 6 warm)", bench: "BenchmarkVerifySideBySide/signet/legacy", unit: "requests/op", atMost: 7},
	{what: "verify bundle: registry requests (floor 9 cold, 8 warm)", bench: "BenchmarkVerifySideBySide/signet/bundle", unit: "requests/op", atMost: 9},
	{what: "verify: new TCP connections per verification", bench: "BenchmarkVerifySideBySide/signet/legacy", unit: "conns/op", atMost: 1},
	// 2. Signing: the default (both layouts, preflight, post-check).
	{what: "sign+attest default: registry requests (cosign: 27)", bench: "BenchmarkSignAndAttest/both/signet-postcheck", unit: "requests", atMost: 27},
	{what: "sign+attest both layouts vs cosign v2+v3 CLIs", bench: "BenchmarkSignAndAttest/both/signet", unit: "speedup", atLeast: 1},
	// 3. Start-up. Below the floor of a binary linking sigstore-go's
	// verifier (~10-11 ms): reported, not expected to be met.
	{what: "sign policy lint, whole process", bench: "BenchmarkStartup/sign-lint", unit: "ns/op", atMost: 5e6},
	{what: "sign verify process over in-process", bench: "BenchmarkStartup/sign-verify", unit: "x-in-process", atMost: 2},
	// 4. The engine in-process against cosign's library, same work.
	{what: "engine vs cosign v2 library, legacy", bench: "BenchmarkVerifySideBySide/signet/legacy", unit: "speedup-v2", atLeast: 2},
	{what: "engine vs cosign v3 library, legacy", bench: "BenchmarkVerifySideBySide/signet/legacy", unit: "speedup-v3", atLeast: 2},
	{what: "engine vs cosign v3 library, bundle", bench: "BenchmarkVerifySideBySide/signet/bundle", unit: "speedup-v3", atLeast: 2},
	// Issue 22: the same on the real registry the stack builds
	// (distribution, no referrers API), and the engine over the floor of
	// its round trips there; cpu-ms/op is the client process's own CPU.
	{what: "engine vs cosign v2 library on distribution, legacy", bench: "BenchmarkVerifyOnDistribution/signet/legacy", unit: "speedup-v2", atLeast: 3},
	{what: "engine over the round-trip floor on distribution, legacy", bench: "BenchmarkVerifyOnDistribution/signet/legacy", unit: "x-floor", atMost: 1.5},
	{what: "engine over the round-trip floor on distribution, bundle", bench: "BenchmarkVerifyOnDistribution/signet/bundle", unit: "x-floor", atMost: 1.5},
	{what: "sign verify vs cosign v3 CLI processes, bundle", bench: "BenchmarkVerifyProcesses/signet/bundle", unit: "speedup-v3", atLeast: 1},
	// 5. enforce.
	{what: "cold pod 10 vs 1 image, registry at 5 ms per request", bench: "BenchmarkAdmissionColdRatio/registry=rtt=5ms", unit: "ratio-10-vs-1", atMost: 2},
	{what: "cold pod 10 vs 1 image, loopback (CPU-bound)", bench: "BenchmarkAdmissionColdRatio/registry=loopback", unit: "ratio-10-vs-1", atMost: 2},
	{what: "match, 10,000 wildcard-first rules", bench: "BenchmarkMatch/rules=10000/wildcard-first", unit: "ns/op", atMost: 5000},
	{what: "cached pod of 3, 16 HTTPS clients: p99", bench: "BenchmarkAdmissionCached", unit: "p99-ms", atMost: 1},
	// The same load on a server that only replays the answer: when this
	// misses 1 ms too, the target is below what HTTPS and 16 clients cost on
	// the machine's cores, and the line after it is the one signet can move.
	{what: "the same load, server only answering (floor): p99", bench: "BenchmarkAdmissionCachedFloor", unit: "p99-ms", atMost: 1},
	{what: "cached p99 over the floor's", bench: "BenchmarkAdmissionCached", per: "BenchmarkAdmissionCachedFloor", unit: "p99-ms", atMost: 2},
	// 6. Notation signatures (issue 24): the engine against notation-go's
	// notation.Verify, same image, registry and OCSP responder.
	{what: "notation: engine vs notation.Verify (notation-go)", bench: "BenchmarkNotationSideBySide/signet", unit: "speedup-notation", atLeast: 2},
	{what: "notation: engine, revocation asked every time, vs notation.Verify", bench: "BenchmarkNotationSideBySide/signet-uncached-revocation", unit: "speedup-notation", atLeast: 1},
	{what: "notation: registry requests (notation.Verify: 4)", bench: "BenchmarkNotationSideBySide/signet", unit: "requests/op", atMost: 3},
	// Reported, not expected to be met: a new Verifier per verification
	// (new connections and ping, nothing remembered).
	{what: "notation: a new engine per verification vs notation.Verify", bench: "BenchmarkNotationSideBySide/signet-cold", unit: "speedup-notation", atLeast: 1},
	// 8. The node (issue 28): the plugin's time per container creation on the
	// verdict path, and pod start on the real node with it over without it.
	{what: "node decision, verdict path", bench: "BenchmarkNodeDecision/verdict", unit: "ns/op", atMost: 1e6},
	{what: "pod start on the node: signet-node (verdict) over no plugin", bench: "BenchmarkNodePodStart/plugin-verdict", per: "BenchmarkNodePodStart/no-plugin", unit: "ns/op", atMost: 1.1},
	// 7. Attestations with CEL conditions (issue 23).
	{what: "3 CEL conditions over a 1 MB SBOM + scan, decode and evaluate", bench: "BenchmarkAttestationConditions/decode+evaluate", unit: "ns/op", atMost: 50e6},
	{what: "sig + provenance + 1 MB SBOM + scan, in-process, bundle", bench: "BenchmarkVerifyAttested/bundle", unit: "ns/op", atMost: 200e6},
	{what: "sign verify vs cosign v3 verify + 3 verify-attestation, bundle", bench: "BenchmarkVerifyAttestedProcesses/signet/bundle", unit: "speedup-v3", atLeast: 1},
	{what: "sign verify vs cosign v2 verify + 3 verify-attestation, legacy", bench: "BenchmarkVerifyAttestedProcesses/signet/legacy", unit: "speedup-v2", atLeast: 1},
}
