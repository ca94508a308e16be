package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// The decoders below read bytes an attacker controls (anything can be
// pushed to a registry). None may panic; all must fail closed: whatever the
// bytes, the evidence they make is evaluated under a rule that requires a
// signature (and provenance) by a key the fuzzer does not hold, and no
// input yields an allowed Decision.

// fuzzRule is a target under a rule requiring a signature and SLSA
// provenance by a fresh key, and the trust that holds that key.
func fuzzRule(f *testing.F) (Target, *Trust) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	p, err := policy.New(policy.Spec{
		Identities: []policy.IdentitySpec{{Name: "release-key", Key: &policy.KeySpec{PublicKey: pub}}},
		Images:     []policy.RuleSpec{{Match: []string{"**"}, SignedBy: []string{"release-key"}, Provenance: &policy.ProvenanceSpec{}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	digest, _ := name.NewDigest("r.example/a@sha256:" + strings.Repeat("0", 64))
	s, d := Prepare(Request{Image: digest.String(), Policy: p})
	if d != nil {
		f.Fatal(d.Messages())
	}
	return Target{Subject: s, Digest: digest}, New().Trust(context.Background(), s)
}

// failsClosed evaluates what found holds under the fuzz rule and fails
// the test if it is admitted.
func failsClosed(t *testing.T, target Target, trust *Trust, found *ocisig.Found) {
	ev := &Evidence{}
	ev.classify(found)
	if d := Evaluate(target, ev, trust); d.Allowed || d.Outcome() == OutcomeAllow {
		t.Fatalf("fuzzed evidence admitted: %+v", d)
	}
}

func FuzzFromLegacy(f *testing.F) {
	target, trust := fuzzRule(f)
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"}}`), "MEUCIQ==", []byte(""), []byte(`{"SignedEntryTimestamp":"AA==","Payload":{"body":"e30=","integratedTime":1,"logIndex":1,"logID":"00"}}`), false)
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"sig":"AA=="}]}`), "", []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"), []byte(`{"SignedRFC3161Timestamp":"AA=="}`), true)
	f.Fuzz(func(t *testing.T, payload []byte, sig string, cert, extra []byte, att bool) {
		l := ocisig.Legacy{Kind: ocisig.KindSignature, MediaType: ocisig.SimpleSigningMediaType, Payload: payload, Signature: sig, Certificate: cert, RekorBundle: extra, RFC3161: extra}
		if att {
			l.Kind, l.MediaType = ocisig.KindAttestation, ocisig.DSSEMediaType
		}
		if b, err := fromLegacy(l); err == nil {
			_, _ = b.VerificationContent()
			_, _ = b.TlogEntries()
			_, _ = envelopeStatement(b)
		}
		_, _ = simpleSigningDigest(payload)
		failsClosed(t, target, trust, &ocisig.Found{Legacy: []ocisig.Legacy{l}})
	})
}

func FuzzParseBundle(f *testing.F) {
	target, trust := fuzzRule(f)
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := parseBundle(data); err == nil {
			_, _ = envelopeStatement(b)
			_, _ = b.TlogEntries()
		}
		failsClosed(t, target, trust, &ocisig.Found{Bundles: []ocisig.Bundle{{JSON: data}}})
	})
}

func FuzzProvenance(f *testing.F) {
	f.Add(policy.SLSAProvenanceV1, []byte(`{"buildDefinition":{"buildType":"x","externalParameters":{"workflow":{"repository":"https://github.com/a/b","ref":"refs/heads/main"}},"resolvedDependencies":[{"uri":"git+https://github.com/a/b@refs/heads/main","digest":{"gitCommit":"00"}}]},"runDetails":{"builder":{"id":"b"}}}`))
	f.Add(policy.SLSAProvenanceV02, []byte(`{"builder":{"id":"x"},"invocation":{"configSource":{"uri":"git+https://github.com/a/b@refs/heads/main"}}}`))
	digest, _ := name.NewDigest("r.example/a@sha256:" + "0000000000000000000000000000000000000000000000000000000000000000")
	f.Fuzz(func(t *testing.T, predicateType string, raw []byte) {
		if s, err := parseSLSA(predicateType, raw); err == nil && s == nil {
			t.Fatal("nil provenance without error")
		}
		st := statement{Predicate: json.RawMessage(raw)}
		_ = json.Unmarshal(raw, &st)
		_ = st.coversDigest(digest)
	})
}
