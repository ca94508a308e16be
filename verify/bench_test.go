package verify_test

import (
	"context"
	"testing"

	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/internal/testworld"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

const keyProvenancePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json}
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - match: [REGISTRY/**]
    signedBy: [release-key]
    provenance: {required: true, sourceRefs: [refs/heads/main]}
`

// BenchmarkVerifyKeySignedWithSLSA is the figure: full verification
// (resolve the tag, read both layouts, verify the signature and one SLSA v1
// attestation, evaluate the rule) of a key-signed image from a loopback
// registry. Nothing is cached between iterations.
func BenchmarkVerifyKeySignedWithSLSA(b *testing.B) {
	for _, layout := range testworld.Layouts {
		b.Run(string(layout), func(b *testing.B) {
			w := testworld.New(b, testworld.Options{Policy: keyProvenancePolicy})
			d := w.Push("acme/app:1")
			s := w.KeySigner(nil)
			w.Sign(d, d, s, layout)
			w.Attest(d, d, s, layout, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")))
			p, err := policy.LoadFile(w.PolicyPath)
			if err != nil {
				b.Fatal(err)
			}
			v := verify.New()
			image := w.Ref("acme/app:1")
			for b.Loop() {
				if dec := v.Verify(context.Background(), image, p); !dec.Allowed || len(dec.Attestations) != 1 {
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
