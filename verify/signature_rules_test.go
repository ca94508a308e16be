package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// rulesPolicy has one rule per feature of policy/rule_signatures.go, all
// signed by the world's key (or its keyless GitHub identity).
const rulesPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: release-key
    key: {path: cosign.pub}
  - name: app-release
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}
images:
  - {name: if-present, match: [REGISTRY/acme/optional/**], signedBy: [release-key], signature: ifPresent}
  - {name: elsewhere, match: [REGISTRY/acme/elsewhere/**], signedBy: [release-key], signatureRepository: REGISTRY/acme/signatures}
  - {name: annotated, match: [REGISTRY/acme/annotated/**], signedBy: [release-key, app-release], signatureAnnotations: {env: prod}}
  - {name: rest, match: ["**"], deny: no}
`

func rulesWorld(t *testing.T) (*testworld.World, *policy.Policy, *verify.Verifier) {
	t.Helper()
	w := testworld.New(t, testworld.Options{Policy: rulesPolicy})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return w, p, verify.New()
}

func otherKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSignatureIfPresent: signature: ifPresent admits (pinned, marked
// unsigned) an image with nothing attached, and verifies whatever is: a
// signature by someone else, or junk, denies.
func TestSignatureIfPresent(t *testing.T) {
	w, p, v := rulesWorld(t)
	for _, c := range []struct {
		name     string
		setup    func(d name.Digest)
		allow    bool
		unsigned bool
	}{
		{"nothing attached is admitted", func(name.Digest) {}, true, true},
		{"a signature by the key is verified", func(d name.Digest) { w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutLegacy) }, true, false},
		{"a signature by another key denies", func(d name.Digest) { w.Sign(d, d, w.KeySigner(otherKey(t)), ocisig.LayoutBundle) }, false, false},
		{"a signature copied from another image denies", func(d name.Digest) {
			other := w.Push("acme/optional/other:1")
			w.Sign(d, other, w.KeySigner(nil), ocisig.LayoutLegacy)
		}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := w.Push("acme/optional/" + strings.ReplaceAll(c.name, " ", "-") + ":1")
			c.setup(d)
			dec := v.Verify(context.Background(), d.String(), p)
			if dec.Allowed != c.allow || dec.Unsigned != c.unsigned {
				t.Fatalf("allowed %v unsigned %v, want %v %v: %v", dec.Allowed, dec.Unsigned, c.allow, c.unsigned, dec.Messages())
			}
			if dec.Allowed && !strings.Contains(dec.Pinned, "@sha256:") {
				t.Fatalf("admitted without a pin: %q", dec.Pinned)
			}
		})
	}
}

// TestSignatureRepository: signatures in the rule's signatureRepository
// (cosign's COSIGN_REPOSITORY layout: the same digest, another
// repository) count, those beside the image do not.
func TestSignatureRepository(t *testing.T) {
	w, p, v := rulesWorld(t)
	sigs, err := name.NewRepository(w.Ref("acme/signatures"))
	if err != nil {
		t.Fatal(err)
	}
	for _, layout := range []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle} {
		t.Run(string(layout), func(t *testing.T) {
			there := w.Push("acme/elsewhere/app:" + string(layout))
			if layout == ocisig.LayoutBundle {
				// A referrer names its subject's descriptor: the manifest is
				// copied where the signature is written, as a mirror would.
				img, err := remote.Image(there)
				if err != nil {
					t.Fatal(err)
				}
				w.PushImage("acme/signatures:copy", img)
			}
			w.Sign(sigs.Digest(there.DigestStr()), there, w.KeySigner(nil), layout)
			if d := v.Verify(context.Background(), there.String(), p); !d.Allowed {
				t.Fatalf("signature in the signature repository not found: %v", d.Messages())
			}
			beside := w.Push("acme/elsewhere/beside:" + string(layout))
			w.Sign(beside, beside, w.KeySigner(nil), layout)
			if d := v.Verify(context.Background(), beside.String(), p); d.Allowed {
				t.Fatal("a signature beside the image counted where the rule reads another repository")
			}
		})
	}
}

// TestSignatureAnnotations: a signature counts only when its signed
// payload carries the rule's annotations: the simple-signing payload's
// optional map, or the bundle statement's subject annotations; a
// signature without them, or with another value, is refused with the
// annotation named.
func TestSignatureAnnotations(t *testing.T) {
	w, p, v := rulesWorld(t)
	legacy := func(d name.Digest, ann map[string]string) {
		payload := map[string]any{"critical": map[string]any{"identity": map[string]string{"docker-reference": d.Context().Name()},
			"image": map[string]string{"docker-manifest-digest": d.DigestStr()}, "type": "cosign container image signature"}}
		if ann != nil {
			payload["optional"] = ann
		}
		b, _ := json.Marshal(payload)
		l, err := w.KeySigner(nil).SignLegacy(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := ocisig.WriteLegacy(context.Background(), d, []ocisig.Legacy{l}, w.WriteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	bundle := func(d name.Digest, ann map[string]string) {
		h, _ := v1.NewHash(d.DigestStr())
		st, _ := json.Marshal(map[string]any{"_type": ocisig.InTotoStatementType, "predicateType": ocisig.CosignSignPredicateType, "predicate": map[string]any{},
			"subject": []map[string]any{{"name": d.Context().Name(), "digest": map[string]string{h.Algorithm: h.Hex}, "annotations": ann}}})
		b, err := w.GitHub("acme/app", "refs/heads/main").SignBundle(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ocisig.WriteBundle(context.Background(), d, b, ocisig.CosignSignPredicateType, w.WriteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name  string
		sign  func(name.Digest, map[string]string)
		ann   map[string]string
		allow bool
	}{
		{"legacy with the annotation", legacy, map[string]string{"env": "prod", "team": "a"}, true},
		{"legacy without", legacy, nil, false},
		{"legacy with another value", legacy, map[string]string{"env": "dev"}, false},
		{"bundle with the annotation", bundle, map[string]string{"env": "prod"}, true},
		{"bundle without", bundle, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := w.Push("acme/annotated/" + strings.ReplaceAll(c.name, " ", "-") + ":1")
			c.sign(d, c.ann)
			dec := v.Verify(context.Background(), d.String(), p)
			if dec.Allowed != c.allow {
				t.Fatalf("allowed %v, want %v: %v", dec.Allowed, c.allow, dec.Messages())
			}
			if !c.allow && (len(dec.Reasons) == 0 || dec.Reasons[0].Code != verify.CodeAnnotationMismatch || !strings.Contains(dec.Reasons[0].String(), "env")) {
				t.Fatalf("denial does not name the annotation: %v", dec.Reasons)
			}
		})
	}
}

// TestIdentityTrustedRoots: two Sigstore instances in one trust file. A
// certificate verifies only under the root of the identity it is matched
// to: the private instance's certificate, with the very SAN the
// public-good identity pins, is refused there, and accepted by the
// identity that names the private root.
func TestIdentityTrustedRoots(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	private, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := private.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "private.json"), rootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	w.SetPolicy(`apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: vendor
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}
  - name: internal
    keyless: {issuer: https://token.actions.githubusercontent.com, repository: acme/app}
    sigstore: {trustedRoot: private.json}
images:
  - {name: vendor, match: [REGISTRY/vendor/**], signedBy: [vendor]}
  - {name: internal, match: [REGISTRY/internal/**], signedBy: [internal]}
  - {name: both, match: [REGISTRY/both/**], signedBy: [vendor, internal]}
  - {name: rest, match: ["**"], deny: no}
`)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	privateSigner, err := private.Signer(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"))
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New()
	for _, c := range []struct {
		repo     string
		signer   *sigstoretest.Signer
		allow    bool
		identity string
	}{
		{"vendor/app", w.GitHub("acme/app", "refs/heads/main"), true, "vendor"},
		{"vendor/app", privateSigner, false, ""},
		{"internal/app", privateSigner, true, "internal"},
		{"internal/app", w.GitHub("acme/app", "refs/heads/main"), false, ""},
		{"both/app", privateSigner, true, "internal"},
		{"both/app", w.GitHub("acme/app", "refs/heads/main"), true, "vendor"},
	} {
		d := w.Push(c.repo + ":" + c.identity + "x")
		w.Sign(d, d, c.signer, ocisig.LayoutBundle)
		dec := v.Verify(context.Background(), d.String(), p)
		if dec.Allowed != c.allow || c.allow && (len(dec.Signatures) != 1 || dec.Signatures[0].Identity != c.identity) {
			t.Errorf("%s signed under the %s root: allowed %v, want %v (identity %q): %v %+v", c.repo, map[bool]string{true: "private", false: "public"}[c.signer == privateSigner], dec.Allowed, c.allow, c.identity, dec.Messages(), dec.Signatures)
		}
	}
}
