package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// notationPolicy names Notation identities of one CA (acme-root.pem) in
// each way the trust file allows, and one timestamp authority
// (tsa-root.pem). Responders are given a 300 ms timeout so the
// unreachable cases stay fast.
const notationPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-release
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme, CN: release}
      revocation: {timeout: 300ms}
  - name: acme-stamped
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subject: "` + notationtest.SubjectDN + `"
      timestampAuthorities: [{path: tsa-root.pem}]
      revocation: {timeout: 300ms}
  - name: acme-after-expiry
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subject: "` + notationtest.SubjectDN + `"
      timestampAuthorities: [{path: tsa-root.pem}]
      verifyTimestamp: afterCertExpiry
      revocation: {timeout: 300ms}
  - name: acme-lenient
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme}
      revocation: {timeout: 300ms, unreachable: allow}
  - name: acme-authority
    notation:
      signingAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme}
      revocation: {check: skip}
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: notation, match: [REGISTRY/notation/**], signedBy: [acme-release]}
  - {name: stamped, match: [REGISTRY/stamped/**], signedBy: [acme-stamped]}
  - {name: after-expiry, match: [REGISTRY/afterexpiry/**], signedBy: [acme-after-expiry]}
  - {name: lenient, match: [REGISTRY/lenient/**], signedBy: [acme-lenient]}
  - {name: authority, match: [REGISTRY/authority/**], signedBy: [acme-authority]}
  - {name: both-kinds, match: [REGISTRY/both/**], signedBy: [acme-release, release-key], threshold: 2}
  - {name: either-kind, match: [REGISTRY/either/**], signedBy: [acme-release, release-key]}
  - {name: two-notation, match: [REGISTRY/twonotation/**], signedBy: [acme-release, acme-lenient], threshold: 2}
  - {name: sigstore-only, match: [REGISTRY/sigstore/**], signedBy: [release-key]}
  - {match: ["**"], deny: only approved images}
`

// notationWorld is a registry, a CA with its responders, a TSA and the
// policy above.
type notationWorld struct {
	*testworld.World
	ca, other *notationtest.CA
	tsa       *notationtest.TSA
	p         *policy.Policy
}

func newNotationWorld(t *testing.T, o testworld.Options) *notationWorld {
	t.Helper()
	w := &notationWorld{World: testworld.New(t, o), ca: notationtest.NewCA(t, "Acme"), other: notationtest.NewCA(t, "Elsewhere"), tsa: notationtest.NewTSA(t)}
	writeFile(t, filepath.Join(w.Dir, "acme-root.pem"), w.ca.RootPEM())
	writeFile(t, filepath.Join(w.Dir, "tsa-root.pem"), notationtest.PEM(w.tsa.Root))
	w.SetPolicy(notationPolicy)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	w.p = p
	return w
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestNotationSignatures is the Notary Project table: each case pushes an
// image, attaches what its setup attaches, and names the verdict and the
// reason code the engine must give.
func TestNotationSignatures(t *testing.T) {
	w := newNotationWorld(t, testworld.Options{})
	expired := notationtest.ValidBetween(time.Now().Add(-3*time.Hour), time.Now().Add(-2*time.Hour))
	signedWhileValid := time.Now().Add(-150 * time.Minute)
	cases := []struct {
		name  string
		repo  string
		setup func(t *testing.T, d name.Digest)
		allow bool
		code  verify.ReasonCode
		// transient: the denial is infrastructure's (not cached).
		transient bool
	}{
		{"valid JWS", "notation/jws", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, true, "", false},
		{"valid COSE", "notation/cose", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{MediaType: ocisig.NotationCOSEMediaType})
		}, true, "", false},
		{"wrong subject is refused", "notation/intruder", func(t *testing.T, d name.Digest) {
			other := notationtest.Subject
			other.CommonName = "intruder"
			notationtest.Attach(t, d, d, w.ca.Leaf(t, notationtest.WithSubject(other)), notationtest.SignOptions{})
		}, false, verify.CodeWrongIdentity, false},
		{"chain to an untrusted root is refused", "notation/untrusted", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.other.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeUntrustedCertificate, false},
		{"expired certificate without a trusted timestamp authority is refused", "notation/expired", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t, expired), notationtest.SignOptions{SigningTime: signedWhileValid})
		}, false, verify.CodeCertificateExpired, false},
		{"expired certificate without a timestamp is refused", "afterexpiry/unstamped", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t, expired), notationtest.SignOptions{SigningTime: signedWhileValid})
		}, false, verify.CodeNoTrustedTime, false},
		{"expired certificate with a timestamp from its validity is accepted", "afterexpiry/valid", func(t *testing.T, d name.Digest) {
			w.tsa.SetClock(func() time.Time { return signedWhileValid })
			defer w.tsa.SetClock(time.Now)
			notationtest.Attach(t, d, d, w.ca.Leaf(t, expired), notationtest.SignOptions{SigningTime: signedWhileValid, TSA: w.tsa})
		}, true, "", false},
		{"valid certificate without a timestamp is accepted once timestamps count only after expiry", "afterexpiry/current", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, true, "", false},
		{"valid certificate without a timestamp is refused where timestamps are always verified", "stamped/unstamped", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeNoTrustedTime, false},
		{"timestamped signature is accepted where timestamps are always verified", "stamped/valid", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{TSA: w.tsa})
		}, true, "", false},
		{"timestamp after the certificate expired is refused", "stamped/late", func(t *testing.T, d name.Digest) {
			l := w.ca.Leaf(t, notationtest.ValidBetween(time.Now().Add(-3*time.Hour), time.Now().Add(time.Minute)))
			w.tsa.SetClock(func() time.Time { return time.Now().Add(time.Hour) })
			defer w.tsa.SetClock(time.Now)
			notationtest.Attach(t, d, d, l, notationtest.SignOptions{TSA: w.tsa})
		}, false, verify.CodeCertificateExpired, false},
		{"timestamp by an untrusted authority is refused", "afterexpiry/foreign-tsa", func(t *testing.T, d name.Digest) {
			foreign := notationtest.NewTSA(t)
			foreign.SetClock(func() time.Time { return signedWhileValid })
			notationtest.Attach(t, d, d, w.ca.Leaf(t, expired), notationtest.SignOptions{SigningTime: signedWhileValid, TSA: foreign})
		}, false, verify.CodeInvalidTimestamp, false},
		{"signed expiry in the past is refused", "notation/stale", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{SigningTime: time.Now().Add(-time.Hour), Expiry: time.Now().Add(-time.Minute)})
		}, false, verify.CodeSignatureExpired, false},
		{"revoked certificate is refused", "notation/revoked", func(t *testing.T, d name.Digest) {
			l := w.ca.Leaf(t)
			w.ca.Revocation.Revoke(l)
			notationtest.Attach(t, d, d, l, notationtest.SignOptions{})
		}, false, verify.CodeCertificateRevoked, false},
		{"signature copied from another digest is refused", "notation/copied", func(t *testing.T, d name.Digest) {
			other := w.Push("notation/source:1")
			notationtest.Attach(t, d, other, w.ca.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeWrongDigest, false},
		{"tampered JWS payload is refused", "notation/tampered-jws", func(t *testing.T, d name.Digest) {
			attachTampered(t, w, d, ocisig.NotationJWSMediaType)
		}, false, verify.CodeInvalidSignature, false},
		{"tampered COSE payload is refused", "notation/tampered-cose", func(t *testing.T, d name.Digest) {
			attachTampered(t, w, d, ocisig.NotationCOSEMediaType)
		}, false, verify.CodeInvalidSignature, false},
		{"signature needing a verification plugin is refused", "notation/plugin", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{VerificationPlugin: "com.example.plugin"})
		}, false, verify.CodeInvalidSignature, false},
		{"signing authority scheme under a signing authority anchor is accepted", "authority/ok", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{SigningAuthority: true})
		}, true, "", false},
		{"signing authority scheme under a CA anchor is refused", "notation/authority", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{SigningAuthority: true})
		}, false, verify.CodeUntrustedCertificate, false},
		{"one signer of two kinds does not meet a threshold of two", "both/notation-only", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeThresholdNotMet, false},
		{"a Notation and a Sigstore signer meet a threshold of two", "both/two", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
			w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
		}, true, "", false},
		{"two certificates of one subject are one signer", "both/renewed", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{MediaType: ocisig.NotationCOSEMediaType})
		}, false, verify.CodeThresholdNotMet, false},
		{"one subject satisfying two notation identities is one signer, however many certificates", "twonotation/renewed", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeThresholdNotMet, false},
		{"two subjects are two signers", "twonotation/two", func(t *testing.T, d name.Digest) {
			nightly := notationtest.Subject
			nightly.CommonName = "nightly"
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
			notationtest.Attach(t, d, d, w.ca.Leaf(t, notationtest.WithSubject(nightly)), notationtest.SignOptions{})
		}, true, "", false},
		{"a Sigstore-only rule does not read Notation signatures", "sigstore/notation", func(t *testing.T, d name.Digest) {
			notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
		}, false, verify.CodeNoSignature, false},
	}
	v := verify.New()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := w.Push(c.repo + ":1")
			c.setup(t, d)
			dec := v.Verify(context.Background(), w.Ref(c.repo+":1"), w.p)
			checkNotationDecision(t, dec, c.allow, c.code)
			if dec.Transient != c.transient {
				t.Fatalf("transient=%v, want %v", dec.Transient, c.transient)
			}
		})
	}
}

func checkNotationDecision(t *testing.T, d *verify.Decision, allow bool, code verify.ReasonCode) {
	t.Helper()
	var text strings.Builder
	_ = d.WriteText(&text)
	if d.Allowed != allow {
		t.Fatalf("allowed=%v, want %v\n%s", d.Allowed, allow, text.String())
	}
	if code != "" && !d.Has(code) {
		t.Fatalf("no %s reason:\n%s", code, text.String())
	}
}

// attachTampered signs d, then replaces the payload's digest inside the
// envelope with another image's: the envelope parses and names d's
// neighbour, and its signature no longer covers what it says.
func attachTampered(t *testing.T, w *notationWorld, d name.Digest, mediaType string) {
	t.Helper()
	desc, err := remote.Head(d)
	if err != nil {
		t.Fatal(err)
	}
	payload := notationtest.Payload(t, *desc)
	env := notationtest.Sign(t, w.ca.Leaf(t), payload, notationtest.SignOptions{MediaType: mediaType})
	other := w.Push("notation/other:1")
	forged := strings.Replace(string(payload), d.DigestStr(), other.DigestStr(), 1)
	switch mediaType {
	case ocisig.NotationJWSMediaType:
		var jws map[string]any
		if err := json.Unmarshal(env, &jws); err != nil {
			t.Fatal(err)
		}
		jws["payload"] = base64.RawURLEncoding.EncodeToString([]byte(forged))
		if env, err = json.Marshal(jws); err != nil {
			t.Fatal(err)
		}
	default:
		i := strings.Index(string(env), d.DigestStr())
		if i < 0 {
			t.Fatal("COSE envelope does not carry the payload in clear")
		}
		env = []byte(string(env[:i]) + other.DigestStr() + string(env[i+len(d.DigestStr()):]))
	}
	if _, err := ocisig.WriteNotation(context.Background(), d, ocisig.NotationItem{Envelope: env, MediaType: mediaType}); err != nil {
		t.Fatal(err)
	}
}

// TestNotationRevocationResponderDown: when neither OCSP nor the CRL
// answers, an identity that fails closed denies (transiently: a retry may
// succeed) and one with unreachable: allow admits and says the status was
// unknown; either way the decision comes inside the configured bound
// (300 ms per request, OCSP then CRL), even when the responders hang.
func TestNotationRevocationResponderDown(t *testing.T) {
	w := newNotationWorld(t, testworld.Options{})
	v := verify.New()
	for _, state := range []notationtest.State{notationtest.Down, notationtest.Hang} {
		for _, c := range []struct {
			repo  string
			allow bool
		}{{"notation/down", false}, {"lenient/down", true}} {
			t.Run(c.repo+"/"+[]string{"", "down", "hang"}[state], func(t *testing.T) {
				d := w.Push(c.repo + ":1")
				notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
				w.ca.Revocation.Set(state)
				defer w.ca.Revocation.Set(notationtest.Up)
				start := time.Now()
				dec := v.Verify(context.Background(), w.Ref(c.repo+":1"), w.p)
				elapsed := time.Since(start)
				if c.allow {
					checkNotationDecision(t, dec, true, "")
					if got := dec.Signatures[0].Revocation; !strings.HasPrefix(got, "unknown, allowed") {
						t.Fatalf("revocation %q, want it to say the status was unknown and allowed", got)
					}
				} else {
					checkNotationDecision(t, dec, false, verify.CodeRevocationUnknown)
					if !dec.Transient {
						t.Fatal("a denial for an unreachable responder must be transient (never cached)")
					}
				}
				// Two requests of 300 ms (OCSP, then CRL) and the margin the
				// checker allows; generous for a loaded machine, far below the
				// webhook's 10 s.
				if elapsed > 3*time.Second {
					t.Fatalf("decision took %s with the responders %v", elapsed, state)
				}
			})
		}
	}
}

// TestNotationCRLIsCachedForItsValidity: certificates that name only their
// CA's CRL cost one CRL download for any number of verifications while the
// CRL is valid (three certificates, so each chain's status is learnt anew).
func TestNotationCRLIsCachedForItsValidity(t *testing.T) {
	w := newNotationWorld(t, testworld.Options{})
	v := verify.New()
	for i := range 3 {
		d := w.Push("notation/crl:" + string(rune('a'+i)))
		notationtest.Attach(t, d, d, w.ca.Leaf(t, notationtest.OnlyCRL()), notationtest.SignOptions{})
		checkNotationDecision(t, v.Verify(context.Background(), d.String(), w.p), true, "")
	}
	if n := w.ca.Revocation.CRLRequests.Load(); n != 1 {
		t.Fatalf("%d CRL downloads for 3 verifications, want 1", n)
	}
	if n := w.ca.Revocation.OCSPRequests.Load(); n != 0 {
		t.Fatalf("%d OCSP requests for a certificate naming no responder", n)
	}
}

// TestNotationOnRegistryWithoutReferrersAPI: Notation signatures are found
// through the referrers tag too.
func TestNotationOnRegistryWithoutReferrersAPI(t *testing.T) {
	w := newNotationWorld(t, testworld.Options{NoReferrers: true})
	d := w.Push("notation/tagged:1")
	notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
	checkNotationDecision(t, verify.New().Verify(context.Background(), w.Ref("notation/tagged:1"), w.p), true, "")
}

// TestNotationDiscoveryCostsNoRequest: Notation signatures come from the
// referrers listing the engine already reads for Sigstore bundles. A rule
// that names a Notation identity costs exactly what a Sigstore-only rule
// costs on a digest without Notation signatures, and a Notation signature
// costs its manifest and its envelope, nothing more. Under a rule that
// names only Notation identities, nothing else is read: no .sig tag.
func TestNotationDiscoveryCostsNoRequest(t *testing.T) {
	c := &testworld.Counter{}
	w := newNotationWorld(t, testworld.Options{Counter: c})
	cost := func(image string) map[string]int {
		t.Helper()
		c.Reset()
		checkNotationDecision(t, verify.New().Verify(context.Background(), image, w.p), true, "")
		return c.Counts()
	}
	for _, repo := range []string{"sigstore/app:1", "either/app:1"} {
		d := w.Push(repo)
		w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	}
	sigstoreOnly, either := cost(w.Ref("sigstore/app:1")), cost(w.Ref("either/app:1"))
	if !maps.Equal(sigstoreOnly, either) {
		t.Fatalf("a rule naming a Notation identity costs %v on a digest without Notation signatures, a Sigstore-only rule %v", either, sigstoreOnly)
	}
	d := w.Push("either/both:1")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	notationtest.Attach(t, d, d, w.ca.Leaf(t), notationtest.SignOptions{})
	both := cost(w.Ref("either/both:1"))
	want := maps.Clone(either)
	want[testworld.KindManifest]++
	want[testworld.KindBlob]++
	if !maps.Equal(both, want) {
		t.Fatalf("with a Notation signature too: %v, want %v (its manifest and envelope)", both, want)
	}
	only := w.Push("notation/only:1")
	notationtest.Attach(t, only, only, w.ca.Leaf(t), notationtest.SignOptions{})
	floor := map[string]int{testworld.KindPing: 1, testworld.KindManifest: 2, testworld.KindReferrers: 1, testworld.KindBlob: 1}
	if got := cost(w.Ref("notation/only:1")); !maps.Equal(got, floor) {
		t.Fatalf("a Notation-only rule: %v, want %v (the tag, the listing, the signature's manifest and envelope)", got, floor)
	}
}
