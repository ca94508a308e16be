package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509/pkix"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
)

// notationSignPolicy trusts one CA for one subject (and, under stamped/,
// requires a timestamp from one TSA), and the world's key.
const notationSignPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-release
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme, CN: release}
  - name: acme-stamped
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme, CN: release}
      timestampAuthorities: [{path: tsa-root.pem}]
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: notation, match: [REGISTRY/notation/**], signedBy: [acme-release]}
  - {name: stamped, match: [REGISTRY/stamped/**], signedBy: [acme-stamped]}
  - {name: both, match: [REGISTRY/both/**], signedBy: [acme-release, release-key], threshold: 2}
  - {match: ["**"], deny: no}
`

type notationSignWorld struct {
	*testworld.World
	ca  *notationtest.CA
	tsa *notationtest.TSA
	p   *policy.Policy
}

func newNotationSignWorld(t *testing.T) *notationSignWorld {
	t.Helper()
	w := &notationSignWorld{World: testworld.New(t, testworld.Options{}), ca: notationtest.NewCA(t, "Acme"), tsa: notationtest.NewTSA(t)}
	for name, data := range map[string][]byte{"acme-root.pem": w.ca.RootPEM(), "tsa-root.pem": notationtest.PEM(w.tsa.Root)} {
		if err := os.WriteFile(filepath.Join(w.Dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w.SetPolicy(notationSignPolicy)
	w.p = loadPolicy(t, w.World)
	return w
}

// notation is a Notation signer for leaf, loaded from files as `sign
// image --notation-key --notation-cert` loads it.
func (w *notationSignWorld) notation(t *testing.T, leaf *notationtest.Leaf, o NotationOptions) *Notation {
	t.Helper()
	dir := t.TempDir()
	key, chain := filepath.Join(dir, "key.pem"), filepath.Join(dir, "chain.pem")
	if err := os.WriteFile(key, leaf.KeyPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chain, notationtest.PEM(leaf.Chain...), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := LoadNotation(context.Background(), key, chain, o)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *notationSignWorld) run(t *testing.T, cfg Config, image string) (*Result, error) {
	t.Helper()
	cfg.Backoff = time.Millisecond
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signer := Signer{Key: cfg.Key}
	if cfg.Notation != nil {
		signer.Notation = cfg.Notation.Signer()
	}
	return Run(context.Background(), s, Request{Image: image, Format: FormatBundle, Sign: true, Policy: w.p, Signer: signer, PostCheck: NewPostCheck()})
}

func notationReferrers(t *testing.T, d name.Digest) []ocisig.Notation {
	t.Helper()
	found, err := ocisig.FetchWant(context.Background(), d, ocisig.Want{Notation: true})
	if err != nil {
		t.Fatal(err)
	}
	return found.Notation
}

// TestNotationSigningInsteadOfSigstore: a run with only a Notation signer
// signs the digest with Notation (JWS, then COSE), the post-check admits
// it, and a re-run with the same certificate replaces its signature: one
// stays, whatever the envelope.
func TestNotationSigningInsteadOfSigstore(t *testing.T) {
	w := newNotationSignWorld(t)
	leaf := w.ca.Leaf(t)
	d := w.Push("notation/app:1")
	var manifests []string
	for _, envelope := range []string{"jws", "cose", "jws"} {
		res, err := w.run(t, Config{Notation: w.notation(t, leaf, NotationOptions{Envelope: envelope})}, w.Ref("notation/app:1"))
		if err != nil {
			t.Fatalf("%s: %v", envelope, err)
		}
		if len(res.Signed) != 1 || res.Signed[0].Notation == "" || res.Signed[0].Bundle != "" || res.Signed[0].LegacyTag != "" {
			t.Fatalf("%s: attached %+v, want one Notation signature and nothing else", envelope, res.Signed)
		}
		if !res.Decision.Allowed || res.Decision.Signatures[0].Layout != ocisig.LayoutNotation {
			t.Fatalf("%s: post-check %v", envelope, res.Decision.Messages())
		}
		manifests = append(manifests, res.Signed[0].Notation)
		if len(manifests) > 1 && res.Signed[0].NotationWrite.Action != ocisig.ActionReplaced {
			t.Fatalf("%s: re-run %+v, want it to replace the earlier signature", envelope, res.Signed[0].NotationWrite)
		}
	}
	if got := notationReferrers(t, d); len(got) != 1 || !strings.HasSuffix(manifests[2], got[0].Manifest.String()) {
		t.Fatalf("after three runs: %d Notation signatures, want the last one only", len(got))
	}
	// Another certificate (another signer) is never replaced.
	other := w.ca.Leaf(t, notationtest.WithSubject(pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Organization: []string{"Acme"}, CommonName: "nightly"}))
	notationtest.Attach(t, d, d, other, notationtest.SignOptions{})
	if _, err := w.run(t, Config{Notation: w.notation(t, leaf, NotationOptions{})}, w.Ref("notation/app:1")); err != nil {
		t.Fatal(err)
	}
	if got := notationReferrers(t, d); len(got) != 2 {
		t.Fatalf("%d Notation signatures, want ours and the other signer's", len(got))
	}
}

// TestNotationSigningAlongsideSigstore: a run with a key and a Notation
// signer attaches both, which meet a threshold of two distinct signers.
func TestNotationSigningAlongsideSigstore(t *testing.T) {
	w := newNotationSignWorld(t)
	w.Push("both/app:1")
	res, err := w.run(t, Config{Key: worldKey(t, w.World), Notation: w.notation(t, w.ca.Leaf(t), NotationOptions{})}, w.Ref("both/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Signed) != 2 || len(res.Decision.Signatures) != 2 {
		t.Fatalf("attached %+v, counted %+v: want a bundle and a Notation signature, both counted", res.Signed, res.Decision.Signatures)
	}
	if !res.Preflight.OK {
		t.Fatalf("preflight: %v", res.Preflight.Err())
	}
}

// TestNotationTimestampedSigning: with a TSA, the envelope carries an RFC
// 3161 timestamp the cluster accepts where one is required.
func TestNotationTimestampedSigning(t *testing.T) {
	w := newNotationSignWorld(t)
	w.Push("stamped/app:1")
	n := w.notation(t, w.ca.Leaf(t), NotationOptions{TSAURL: w.tsa.URL, TSARoot: w.tsa.Root})
	res, err := w.run(t, Config{Notation: n}, w.Ref("stamped/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	if ts := res.Decision.Signatures[0].Timestamps; len(ts) != 1 || ts[0].Kind != "tsa" {
		t.Fatalf("signature %+v, want it timestamped", res.Decision.Signatures[0])
	}
	if _, err := NewNotation(nil, nil, NotationOptions{TSAURL: w.tsa.URL}); err == nil {
		t.Fatal("a TSA without its root was accepted: the timestamp could not be checked before pushing")
	}
}

// TestNotationPreflight: the run's certificate chain is checked against
// the rule before anything is pushed, field by field.
func TestNotationPreflight(t *testing.T) {
	w := newNotationSignWorld(t)
	intruder := notationtest.Subject
	intruder.CommonName = "intruder"
	cases := []struct {
		name, image string
		signer      func(t *testing.T) *Notation
		field       string // the problem's field; "" when preflight passes
	}{
		{"trusted signer", "notation/app", func(t *testing.T) *Notation { return w.notation(t, w.ca.Leaf(t), NotationOptions{}) }, ""},
		{"wrong subject", "notation/app", func(t *testing.T) *Notation {
			return w.notation(t, w.ca.Leaf(t, notationtest.WithSubject(intruder)), NotationOptions{})
		}, "notation.subjectAttributes"},
		{"untrusted CA", "notation/app", func(t *testing.T) *Notation {
			return w.notation(t, notationtest.NewCA(t, "Elsewhere").Leaf(t), NotationOptions{})
		}, "notation.certificateAuthorities"},
		{"no timestamp where one is required", "stamped/app", func(t *testing.T) *Notation { return w.notation(t, w.ca.Leaf(t), NotationOptions{}) },
			"notation.timestampAuthorities"},
		{"timestamp from a trusted TSA", "stamped/app", func(t *testing.T) *Notation {
			return w.notation(t, w.ca.Leaf(t), NotationOptions{TSAURL: w.tsa.URL, TSARoot: w.tsa.Root})
		}, ""},
		{"timestamp from another TSA", "stamped/app", func(t *testing.T) *Notation {
			other := notationtest.NewTSA(t)
			return w.notation(t, w.ca.Leaf(t), NotationOptions{TSAURL: other.URL, TSARoot: other.Root})
		}, "notation.timestampAuthorities"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Preflight(w.p, w.Ref(c.image+":1"), Signer{Notation: c.signer(t).Signer()}, nil)
			if c.field == "" {
				if !r.OK {
					t.Fatalf("refused: %v", r.Err())
				}
				return
			}
			if r.OK || len(r.Problems) == 0 || r.Problems[0].Field != c.field {
				t.Fatalf("problems %+v, want one in %s", r.Problems, c.field)
			}
		})
	}
}

// TestNotationKMSSigner: a KMS key signs through the remote-signer path
// (ASN.1 ECDSA from the KMS, r||s in the envelope), and what it signs
// verifies; an RSA KMS key or a key that is not the certificate's is
// refused when the signer is built.
func TestNotationKMSSigner(t *testing.T) {
	w := newNotationSignWorld(t)
	leaf := w.ca.Leaf(t)
	kms := func(t *testing.T, key crypto.Signer) *Keypair {
		sv, err := signature.LoadSignerVerifier(key, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		kp, err := NewKeypair(sv, "awskms:///alias/test")
		if err != nil {
			t.Fatal(err)
		}
		return kp
	}
	s, err := newKMSNotationSigner(kms(t, leaf.Key), leaf.Chain)
	if err != nil {
		t.Fatal(err)
	}
	for _, envelope := range []string{"jws", "cose"} {
		n, err := NewNotation(s, leaf.Chain, NotationOptions{Envelope: envelope})
		if err != nil {
			t.Fatal(err)
		}
		w.Push("notation/kms-" + envelope + ":1")
		if _, err := w.run(t, Config{Notation: n}, w.Ref("notation/kms-"+envelope+":1")); err != nil {
			t.Fatalf("%s: %v", envelope, err)
		}
	}
	if _, err := newKMSNotationSigner(kms(t, w.ca.Leaf(t).Key), leaf.Chain); err == nil || !strings.Contains(err.Error(), "is not the key of certificate") {
		t.Fatalf("another key: %v", err)
	}
	if _, ok := leaf.Key.(*ecdsa.PrivateKey); !ok {
		t.Fatal("test leaves are ECDSA")
	}
}

// TestNotationOnlySessionRefusesSigstoreMaterial: a Notation-only run that
// is asked for an attestation says what it lacks.
func TestNotationOnlySessionRefusesSigstoreMaterial(t *testing.T) {
	w := newNotationSignWorld(t)
	s, err := NewSession(Config{Notation: w.notation(t, w.ca.Leaf(t), NotationOptions{})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Attestation(context.Background(), w.Push("notation/att:1"), "https://example.com/p", []byte(`{}`), FormatBundle); !errors.Is(err, errNoSigstore) {
		t.Fatalf("attestation by a Notation-only session: %v", err)
	}
}
