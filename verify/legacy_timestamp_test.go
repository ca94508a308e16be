package verify_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// TestLegacyAttestationTimestampCoversTheEnvelope: cosign v2 stamps a .att
// layer's RFC 3161 timestamp over the layer (the envelope JSON), not over
// the DSSE signature. With no log entry that timestamp is the attestation's
// only trusted time, so verifying it over the signature bytes (as a bundle's
// timestamps are) would deny every timestamp-only cosign v2 attestation.
// A timestamp over other bytes must still give no trusted time.
func TestLegacyAttestationTimestampCoversTheEnvelope(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	d := w.Push("acme/prov/app:timestamp-only")
	s := w.GitHub("acme/app", "refs/heads/main", sigstoretest.WithoutTlog(), sigstoretest.WithTimestamp())
	w.Sign(d, d, s, ocisig.LayoutLegacy)
	w.Attest(d, d, s, ocisig.LayoutLegacy, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(s.Identity()))

	dec := verify.New().Verify(context.Background(), w.Ref("acme/prov/app:timestamp-only"), p)
	if !dec.Allowed || len(dec.Attestations) != 1 || dec.Attestations[0].Layout != ocisig.LayoutLegacy {
		var text strings.Builder
		_ = dec.WriteText(&text)
		t.Fatalf("the timestamp-only legacy attestation was not accepted:\n%s", text.String())
	}

	t.Run("a timestamp over other bytes is no trusted time", func(t *testing.T) {
		d := w.Push("acme/prov/app:foreign-timestamp")
		w.Sign(d, d, s, ocisig.LayoutLegacy)
		att, err := s.AttestLegacy(sigstoretest.Statement(mustHash(t, d), policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(s.Identity())), policy.SLSAProvenanceV1)
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.AttestLegacy(sigstoretest.Statement(mustHash(t, d), "https://example.com/other", map[string]any{}), "https://example.com/other")
		if err != nil {
			t.Fatal(err)
		}
		att.RFC3161 = other.RFC3161 // a genuine timestamp, of another envelope
		if err := ocisig.WriteLegacy(context.Background(), d, []ocisig.Legacy{att}); err != nil {
			t.Fatal(err)
		}
		dec := verify.New().Verify(context.Background(), w.Ref("acme/prov/app:foreign-timestamp"), p)
		if dec.Allowed || !strings.Contains(strings.Join(dec.Messages(), " "), "no trusted time") {
			t.Fatalf("a timestamp of another envelope was accepted as the attestation's time: allowed=%v %v", dec.Allowed, dec.Messages())
		}
	})
}

func mustHash(t *testing.T, d name.Digest) v1.Hash {
	t.Helper()
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		t.Fatal(err)
	}
	return h
}
