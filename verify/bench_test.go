package verify_test

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// BenchmarkVerifyKeySignedWithSLSA is the figure: full verification
// (resolve the tag, read both layouts, verify the signature and one SLSA v1
// attestation, evaluate the rule) of a key-signed image from a loopback
// registry. Nothing is cached between iterations.
func BenchmarkVerifyKeySignedWithSLSA(b *testing.B) {
	benchKeySigned(b, testworld.KeyProvenancePolicy, 1, nil)
}

// BenchmarkVerifyAttested: BenchmarkVerifyKeySignedWithSLSA's verification
// plus a 1 MB SBOM and a scan report, each with its conditions (three in
// all, testworld.KeyAttestedPolicy), read in the same pass: the cost an
// SBOM and a scan add to a cold verification (a cached admission does not
// pay it).
func BenchmarkVerifyAttested(b *testing.B) {
	benchKeySigned(b, testworld.KeyAttestedPolicy, 3, func(w *testworld.World, d name.Digest, s *sigstoretest.Signer, layout ocisig.Layout) {
		w.Attest(d, d, s, layout, policy.PredicateCycloneDX, testworld.RealisticBOM(1<<20))
		w.Attest(d, d, s, layout, policy.PredicateVuln, testworld.RealisticScan(300))
	})
}

// benchKeySigned verifies, in each layout, an image signed with the
// world's key and attested with SLSA v1 provenance, plus what more
// attaches, under policy; the decision must count wantAtts attestations.
func benchKeySigned(b *testing.B, pol string, wantAtts int, more func(*testworld.World, name.Digest, *sigstoretest.Signer, ocisig.Layout)) {
	for _, layout := range testworld.Layouts {
		b.Run(string(layout), func(b *testing.B) {
			w := testworld.New(b, testworld.Options{Policy: pol})
			d := w.Push("acme/app:1")
			s := w.KeySigner(nil)
			w.Sign(d, d, s, layout)
			w.Attest(d, d, s, layout, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")))
			if more != nil {
				more(w, d, s, layout)
			}
			p, err := policy.LoadFile(w.PolicyPath)
			if err != nil {
				b.Fatal(err)
			}
			v := verify.New()
			image := w.Ref("acme/app:1")
			b.ReportAllocs()
			for b.Loop() {
				if dec := v.Verify(context.Background(), image, p); !dec.Allowed || len(dec.Attestations) != wantAtts {
					b.Fatalf("not allowed: %v", dec.Messages())
				}
			}
		})
	}
}

// BenchmarkVerifyKeyless measures a keyless GitHub signature (certificate
// chain, SCT and Rekor SET/inclusion proof) in the bundle layout.
func BenchmarkVerifyKeyless(b *testing.B) {
	w := testworld.New(b, testworld.Options{})
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.GitHub("acme/app", "refs/heads/main"), ocisig.LayoutBundle)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	v := verify.New()
	for b.Loop() {
		if dec := v.Verify(context.Background(), d.String(), p); !dec.Allowed {
			b.Fatalf("not allowed: %v", dec.Messages())
		}
	}
}
