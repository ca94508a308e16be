package verify_test

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const kmsPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: kms-key
    key: {kms: "awskms:///alias/release"}
images:
  - match: [REGISTRY/**]
    signedBy: [kms-key]
`

// kmsSignedImage is an image signed by the key kmsPolicy's KMS identity
// names, and that policy.
func kmsSignedImage(t *testing.T) (*testworld.World, name.Digest, *policy.Policy) {
	t.Helper()
	w := testworld.New(t, testworld.Options{Policy: kmsPolicy})
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return w, d, p
}

// TestKMSKeyIdentity: a kms: identity is resolved through the KMS loader
// (once) and then verifies like any key; a KMS failure denies with the
// KMS's error, never allows.
func TestKMSKeyIdentity(t *testing.T) {
	w, d, p := kmsSignedImage(t)
	calls := 0
	v := verify.New(verify.WithKMSLoader(func(_ context.Context, uri string) (crypto.PublicKey, error) {
		calls++
		if uri != "awskms:///alias/release" {
			t.Errorf("loader asked for %q", uri)
		}
		return &w.Key.PublicKey, nil
	}))
	for range 2 {
		if dec := v.Verify(context.Background(), d.String(), p); !dec.Allowed || dec.Signatures[0].KeyID == "" {
			t.Fatalf("KMS-signed image denied: %v", dec.Messages())
		}
	}
	if calls != 1 {
		t.Fatalf("KMS key loaded %d times, want once per verifier", calls)
	}

	broken := verify.New(verify.WithKMSLoader(func(context.Context, string) (crypto.PublicKey, error) {
		return nil, errors.New("AccessDeniedException: no kms:GetPublicKey")
	}))
	dec := broken.Verify(context.Background(), d.String(), p)
	if dec.Allowed || !strings.Contains(strings.Join(dec.Messages(), " "), "AccessDeniedException") {
		t.Fatalf("KMS failure must deny with its error: %v", dec.Messages())
	}
}

const twinKMSPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-a, key: {kms: "awskms:///alias/release"}}
  - {name: release-b, key: {kms: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/release"}}
images:
  - match: [REGISTRY/**]
    signedBy: [release-a, release-b]
    threshold: 2
`

// TestThresholdCountsOneKeyOnce: two KMS URIs that resolve to the same key
// (which loading cannot see) are one signer: one signature does not meet a
// threshold of two, and the decision lists it once.
func TestThresholdCountsOneKeyOnce(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: twinKMSPolicy})
	d := w.Push("acme/app:1")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutLegacy)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	v := verify.New(verify.WithKMSLoader(func(context.Context, string) (crypto.PublicKey, error) { return &w.Key.PublicKey, nil }))
	dec := v.Verify(context.Background(), d.String(), p)
	if dec.Allowed || !strings.Contains(strings.Join(dec.Messages(), " "), "only 1 distinct signer") {
		t.Fatalf("one key under two names met a threshold of two: allowed=%v %v", dec.Allowed, dec.Messages())
	}
	if len(dec.Signatures) != 1 {
		t.Fatalf("the one signer is listed %d times: %+v", len(dec.Signatures), dec.Signatures)
	}
}

// TestKMSFailureIsNotKept: a KMS that fails once (throttled, a network
// blip) is asked again by the next verification, which is then allowed:
// neither the key cache nor the rule's resolved trust keeps a failure.
func TestKMSFailureIsNotKept(t *testing.T) {
	w, d, p := kmsSignedImage(t)
	calls := 0
	v := verify.New(verify.WithKMSLoader(func(context.Context, string) (crypto.PublicKey, error) {
		if calls++; calls == 1 {
			return nil, errors.New("ThrottlingException: rate exceeded")
		}
		return &w.Key.PublicKey, nil
	}))
	if dec := v.Verify(context.Background(), d.String(), p); dec.Allowed {
		t.Fatalf("a KMS failure must deny: %v", dec.Messages())
	}
	if dec := v.Verify(context.Background(), d.String(), p); !dec.Allowed {
		t.Fatalf("the KMS recovered but the verifier kept its failure: %v", dec.Messages())
	}
	if calls != 2 {
		t.Fatalf("KMS asked %d times, want 2 (the failure, then the key)", calls)
	}
}
