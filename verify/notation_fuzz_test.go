package verify

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
)

// goodRevocation answers "good" without a request: the fuzzer reaches
// every offline check, and no byte it invents reaches the network.
type goodRevocation struct{}

func (goodRevocation) Check(context.Context, RevocationRequest) RevocationStatus {
	return RevocationStatus{State: RevocationGood}
}

// FuzzNotationEnvelope feeds arbitrary bytes, as either envelope media
// type, through the whole evaluation of a Notation signature. It must
// never panic (notation-core-go's parsers see attacker bytes; the engine
// turns a panic into a refusal) and never admit anything but a signature
// by the seed's certificate over the target digest: a mutation that still
// verifies (the JWS wrapper is not signed) is the seed's own signature.
func FuzzNotationEnvelope(f *testing.F) {
	ca := notationtest.NewCA(f, "Acme")
	leaf := ca.Leaf(f)
	digest, err := name.NewDigest("r.example/app@sha256:" + strings.Repeat("ab", 32))
	if err != nil {
		f.Fatal(err)
	}
	h, _ := v1.NewHash(digest.DigestStr())
	payload := notationtest.Payload(f, v1.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: h, Size: 100})
	for _, mt := range []string{ocisig.NotationJWSMediaType, ocisig.NotationCOSEMediaType} {
		f.Add(notationtest.Sign(f, leaf, payload, notationtest.SignOptions{MediaType: mt}), mt == ocisig.NotationCOSEMediaType)
	}
	f.Add([]byte(`{"payload":"e30","protected":"e30","header":{"x5c":["AA=="]},"signature":"AA"}`), false)
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}, true)
	p, err := policy.New(policy.Spec{
		Identities: []policy.IdentitySpec{{Name: "acme", Notation: &policy.NotationSpec{
			CertificateAuthorities: []policy.CertificateSpec{{Certificate: string(ca.RootPEM())}},
			SubjectAttributes:      map[string]string{"C": "US", "ST": "WA", "O": "Acme"},
		}}},
		Images: []policy.RuleSpec{{Match: []string{"**"}, SignedBy: []string{"acme"}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	m, err := p.Match(digest.String())
	if err != nil {
		f.Fatal(err)
	}
	v := New(WithRevocationChecker(goodRevocation{}))
	want := fingerprint(leaf.Cert)
	f.Fuzz(func(t *testing.T, data []byte, cose bool) {
		mt := ocisig.NotationJWSMediaType
		if cose {
			mt = ocisig.NotationCOSEMediaType
		}
		ev := &Evidence{}
		ev.classifyNotation([]ocisig.Notation{{MediaType: mt, Envelope: data}})
		v.notationEvidence(context.Background(), ev, digest, m.Rule)
		d := Evaluate(Target{Subject: Subject{Request: Request{Image: digest.String(), Policy: p}, Ref: digest, Match: m}, Digest: digest}, ev, nil)
		if d.Allowed && (len(d.Signatures) != 1 || d.Signatures[0].Certificate != want) {
			t.Fatalf("admitted a signature that is not the seed certificate's: %+v", d.Signatures)
		}
	})
}
