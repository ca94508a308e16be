package cosignlib_test

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	cosign2 "github.com/sigstore/cosign/v2/pkg/cosign"
	oci2 "github.com/sigstore/cosign/v2/pkg/oci"
	cosign3 "github.com/sigstore/cosign/v3/pkg/cosign"
	oci3 "github.com/sigstore/cosign/v3/pkg/oci"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// world is one loopback registry holding acme/<layout>:1, signed with the
// world's key and attested with SLSA v1 provenance in that layout: the
// in-process registry (its requests and connections counted), or, with
// registry set, the stack's distribution (uncounted: nothing stands
// between it and the client).
type world struct {
	w     *testworld.World
	c     *testworld.Counter
	image string
	p     *policy.Policy
	sv    signature.Verifier
	// referrersAPI says whether the registry serves the referrers API.
	referrersAPI bool
}

func newWorld(b testing.TB, layout ocisig.Layout, registry string) *world {
	o := testworld.Options{Policy: testworld.KeyProvenancePolicy, Registry: registry}
	var c *testworld.Counter
	if registry == "" {
		c = &testworld.Counter{}
		o.Counter = c
	}
	w := testworld.New(b, o)
	d := w.Push("acme/" + string(layout) + ":1")
	w.SignKeyProvenance(d, layout)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	sv, err := signature.LoadVerifier(&w.Key.PublicKey, crypto.SHA256)
	if err != nil {
		b.Fatal(err)
	}
	return &world{w: w, c: c, image: w.Ref("acme/" + string(layout) + ":1"), p: p, sv: sv, referrersAPI: registry == ""}
}

// BenchmarkVerifySideBySide: the same work (resolve acme/app:1, verify
// its key signature and its SLSA v1 attestation) by signet's engine and
// by cosign's library, against the same loopback registry and image, in
// one run. Each sub-benchmark reports ns/op, requests/op (registry
// requests) and conns/op (TCP connections accepted); signet's also report
// speedup-v2 and speedup-v3: the cosign library's ns/op in this run over
// signet's, and x-floor: signet's ns/op over floor's (floor_test.go: the
// requests in their dependency order and two ECDSA checks, nothing else).
// signet does more than cosign (it also checks the provenance's
// source ref against the trust file); cosign-lib-v3/bundle makes one call
// (VerifyImageAttestations with the new bundle format verifies the
// signature bundle and the attestation bundle), the fewest it allows.
//
// One verifier or set of options per sub-benchmark, as a long-running
// process has: signet's pings and authenticates once per process, cosign's
// library once per call.
func BenchmarkVerifySideBySide(b *testing.B) {
	sideBySide(b, "")
}

// BenchmarkVerifyOnDistribution is the same comparison against the real
// registry the stack builds (distribution v3, which has no referrers API:
// bundles are found through the sha256-<hex> tag), on loopback. Requests
// and connections are not counted: nothing stands between the registry
// and the clients.
func BenchmarkVerifyOnDistribution(b *testing.B) {
	s := stack.New(b, stack.Options{Registry: true})
	sideBySide(b, s.Registry.Host)
}

// sideBySide runs the comparison on the in-process registry (registry "")
// or the one at registry.
func sideBySide(b *testing.B, registry string) {
	ctx := context.Background()
	layouts := []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle}
	worlds := map[ocisig.Layout]*world{}
	for _, l := range layouts {
		worlds[l] = newWorld(b, l, registry)
	}
	nsPerOp := map[string]float64{}
	run := func(impl string, layout ocisig.Layout, op func(*world) error) {
		w := worlds[layout]
		b.Run(impl+"/"+string(layout), func(b *testing.B) {
			// Each implementation starts from the same machine: cosign's
			// library opens connections on every call and leaves them idle
			// (a CLI process would exit), thousands of them with their
			// goroutines, which slowed whatever ran after it.
			if w.w.Server != nil {
				w.w.Server.CloseClientConnections()
			}
			runtime.GC()
			if err := op(w); err != nil { // warm: one process's first call
				b.Fatal(err)
			}
			if w.c != nil {
				w.c.Reset()
			}
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if err := op(w); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N)
			ns := float64(b.Elapsed().Nanoseconds()) / n
			nsPerOp[impl+"/"+string(layout)] = ns
			if w.c == nil {
				// The registry is another process: this process's CPU time
				// is the client's alone, whatever else the machine runs.
				b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/n, "cpu-ms/op")
			}
			if w.c != nil {
				b.ReportMetric(float64(w.c.Requests())/n, "requests/op")
				b.ReportMetric(float64(w.c.Conns())/n, "conns/op")
			}
			if impl == "signet" {
				b.ReportMetric(ns/nsPerOp["floor/"+string(layout)], "x-floor")
				for _, v := range []string{"v2", "v3"} {
					if other := nsPerOp["cosign-lib-"+v+"/"+string(layout)]; other > 0 {
						b.ReportMetric(other/ns, "speedup-"+v)
					}
				}
			}
		})
	}
	for _, l := range layouts {
		run("floor", l, newFloor(b, worlds[l], l).op)
	}
	run("cosign-lib-v2", ocisig.LayoutLegacy, cosignV2Legacy)
	run("cosign-lib-v3", ocisig.LayoutLegacy, cosignV3Legacy)
	run("cosign-lib-v3", ocisig.LayoutBundle, cosignV3Bundle)
	for _, l := range layouts {
		v := verify.New()
		run("signet", l, func(w *world) error {
			if d := v.Verify(ctx, w.image, w.p); !d.Allowed || len(d.Attestations) != 1 {
				return fmt.Errorf("signet: not allowed: %v", d.Messages())
			}
			return nil
		})
	}
}

func cosignV2Legacy(w *world) error {
	ctx := context.Background()
	ref, err := name.ParseReference(w.image)
	if err != nil {
		return err
	}
	co := &cosign2.CheckOpts{SigVerifier: w.sv, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign2.SimpleClaimVerifier}
	if _, _, err := cosign2.VerifyImageSignatures(ctx, ref, co); err != nil {
		return fmt.Errorf("cosign v2 verify: %w", err)
	}
	co.ClaimVerifier = cosign2.IntotoSubjectClaimVerifier
	atts, _, err := cosign2.VerifyImageAttestations(ctx, ref, co)
	if err != nil {
		return fmt.Errorf("cosign v2 verify-attestation: %w", err)
	}
	return hasPredicates(payloads2(atts), policy.SLSAProvenanceV1)
}

func cosignV3Legacy(w *world) error {
	ctx := context.Background()
	ref, err := name.ParseReference(w.image)
	if err != nil {
		return err
	}
	co := &cosign3.CheckOpts{SigVerifier: w.sv, IgnoreTlog: true, IgnoreSCT: true, ClaimVerifier: cosign3.SimpleClaimVerifier}
	if _, _, err := cosign3.VerifyImageSignatures(ctx, ref, co); err != nil {
		return fmt.Errorf("cosign v3 verify: %w", err)
	}
	co.ClaimVerifier = cosign3.IntotoSubjectClaimVerifier
	atts, _, err := cosign3.VerifyImageAttestations(ctx, ref, co)
	if err != nil {
		return fmt.Errorf("cosign v3 verify-attestation: %w", err)
	}
	return hasPredicates(payloads3(atts), policy.SLSAProvenanceV1)
}

func cosignV3Bundle(w *world) error {
	ref, err := name.ParseReference(w.image)
	if err != nil {
		return err
	}
	co := &cosign3.CheckOpts{SigVerifier: w.sv, IgnoreTlog: true, IgnoreSCT: true, NewBundleFormat: true, ClaimVerifier: cosign3.IntotoSubjectClaimVerifier}
	atts, _, err := cosign3.VerifyImageAttestations(context.Background(), ref, co)
	if err != nil {
		return fmt.Errorf("cosign v3 verify (bundle): %w", err)
	}
	return hasPredicates(payloads3(atts), ocisig.CosignSignPredicateType, policy.SLSAProvenanceV1)
}

func payloads2(sigs []oci2.Signature) [][]byte {
	var out [][]byte
	for _, s := range sigs {
		if p, err := s.Payload(); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func payloads3(sigs []oci3.Signature) [][]byte {
	var out [][]byte
	for _, s := range sigs {
		if p, err := s.Payload(); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// hasPredicates checks that the verified DSSE envelopes carry statements
// of each predicate type, as `cosign verify-attestation --type` does.
func hasPredicates(envelopes [][]byte, types ...string) error {
	seen := map[string]bool{}
	for _, e := range envelopes {
		var env struct{ Payload string }
		if json.Unmarshal(e, &env) != nil {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(env.Payload)
		if err != nil {
			continue
		}
		var st struct{ PredicateType string }
		if json.Unmarshal(raw, &st) == nil {
			seen[st.PredicateType] = true
		}
	}
	for _, t := range types {
		if !seen[t] {
			return fmt.Errorf("no verified attestation of type %s (saw %v)", t, seen)
		}
	}
	return nil
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
