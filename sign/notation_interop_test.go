package sign

import (
	"context"
	"testing"

	"github.com/notaryproject/notation-go"
	notationsigner "github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/verify"
)

// The in-process interop arbiter is notation-go's top-level notation.Sign
// and notation.Verify: what the notation CLI calls (e2e
// TestNotationCLIInterop runs the CLI itself). Both directions, both
// envelopes, against the same registry.

// TestNotationSignOutputVerifiesInSignet: what notation.Sign pushes (as
// `notation sign` does) is admitted by signet's engine under the
// equivalent notation identity.
func TestNotationSignOutputVerifiesInSignet(t *testing.T) {
	w := newNotationSignWorld(t)
	leaf := w.ca.Leaf(t)
	s, err := notationsigner.NewGenericSigner(leaf.Key, leaf.Chain)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{ocisig.NotationJWSMediaType, ocisig.NotationCOSEMediaType} {
		t.Run(mt, func(t *testing.T) {
			repo := "notation/by-notation-" + map[string]string{ocisig.NotationJWSMediaType: "jws", ocisig.NotationCOSEMediaType: "cose"}[mt]
			w.Push(repo + ":1")
			opts := notation.SignOptions{ArtifactReference: w.Ref(repo + ":1"), SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: mt}}
			if _, err := notation.Sign(context.Background(), s, notationtest.Repository(t, w.Ref(repo)), opts); err != nil {
				t.Fatal(err)
			}
			d := verify.New().Verify(context.Background(), w.Ref(repo+":1"), w.p)
			if !d.Allowed || len(d.Signatures) != 1 || d.Signatures[0].Envelope != mt {
				t.Fatalf("notation.Sign's %s signature: allowed=%v %v %+v", mt, d.Allowed, d.Messages(), d.Signatures)
			}
		})
	}
}

// TestSignetNotationSignatureVerifiesWithNotation: what `sign image`
// pushes with a Notation signer (timestamped, either envelope) passes
// notation.Verify under a strict trust policy with the same anchors,
// subject and TSA, revocation checked against the CA's responders.
func TestSignetNotationSignatureVerifiesWithNotation(t *testing.T) {
	w := newNotationSignWorld(t)
	leaf := w.ca.Leaf(t)
	store := notationtest.TrustStore{truststore.TypeCA: {"acme": {w.ca.Root}}, truststore.TypeTSA: {"acme-tsa": {w.tsa.Root}}}
	for _, envelope := range []string{"jws", "cose"} {
		t.Run(envelope, func(t *testing.T) {
			repo := "stamped/by-signet-" + envelope
			digest := w.Push(repo + ":1")
			n := w.notation(t, leaf, NotationOptions{Envelope: envelope, TSAURL: w.tsa.URL, TSARoot: w.tsa.Root})
			if _, err := w.run(t, Config{Notation: n}, w.Ref(repo+":1")); err != nil {
				t.Fatal(err)
			}
			doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
				Name: "acme", RegistryScopes: []string{w.Ref(repo)},
				SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
				TrustStores:           []string{"ca:acme", "tsa:acme-tsa"},
				TrustedIdentities:     []string{"x509.subject: " + notationtest.SubjectDN},
			}}}
			if err := notationtest.NotationVerify(t, doc, store, w.Ref(repo), digest.String()); err != nil {
				t.Fatalf("notation.Verify: %v", err)
			}
		})
	}
}
