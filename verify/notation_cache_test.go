package verify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/signature"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/notationtest"
)

// TestRevocationStatusIsKeptForItsTTL: a chain's definite status is
// answered from memory for RevocationStatusTTL (no request), then asked
// again, so a revocation reaches new decisions within the TTL; an unknown
// status is never kept.
func TestRevocationStatusIsKeptForItsTTL(t *testing.T) {
	ca := notationtest.NewCA(t, "Acme")
	leaf := ca.Leaf(t)
	c := NewOCSPCRLChecker()
	now := time.Now()
	c.statuses.now = func() time.Time { return now }
	req := RevocationRequest{Chain: leaf.Chain, Timeout: time.Second}
	check := func(want RevocationState, requests int64) {
		t.Helper()
		before := ca.Revocation.OCSPRequests.Load()
		if st := c.Check(context.Background(), req); st.State != want {
			t.Fatalf("status %s (%s), want %s", st.State, st.Detail, want)
		}
		if n := ca.Revocation.OCSPRequests.Load() - before; n != requests {
			t.Fatalf("%d OCSP requests, want %d", n, requests)
		}
	}
	ca.Revocation.Set(notationtest.Down)
	check(RevocationUnknown, 1)
	ca.Revocation.Set(notationtest.Up)
	check(RevocationGood, 1) // the unknown status was not kept
	check(RevocationGood, 0)
	ca.Revocation.Revoke(leaf)
	now = now.Add(RevocationStatusTTL - time.Second)
	check(RevocationGood, 0)
	now = now.Add(2 * time.Second)
	check(RevocationRevoked, 1)
}

// TestExpiringIsBounded: a full cache drops expired entries first, then
// others, never growing past its bound.
func TestExpiringIsBounded(t *testing.T) {
	c := newExpiring[int](4)
	now := time.Now()
	c.now = func() time.Time { return now }
	c.put("old", 0, now.Add(time.Second))
	for i := range 3 {
		c.put(fmt.Sprint(i), i, now.Add(time.Hour))
	}
	now = now.Add(2 * time.Second)
	c.put("new", 9, now.Add(time.Hour))
	if _, ok := c.get("0"); !ok || len(c.m) != 4 {
		t.Fatalf("the expired entry was not the one dropped: %v", c.m)
	}
	for i := range 10 {
		c.put(fmt.Sprint("x", i), i, now.Add(time.Hour))
	}
	if len(c.m) != 4 {
		t.Fatalf("%d entries, bound 4", len(c.m))
	}
	c.put("stale", 1, now.Add(-time.Second))
	if _, ok := c.get("stale"); ok {
		t.Fatal("an entry already expired was kept")
	}
}

// countingEnvelope counts integrity checks.
type countingEnvelope struct {
	signature.Envelope
	calls *int
}

func (e countingEnvelope) Verify() (*signature.EnvelopeContent, error) {
	*e.calls++
	return e.Envelope.Verify()
}

// TestIntegrityIsRememberedByTheEnvelopesBytes: a signature seen again is
// not verified again; other bytes (a tampered copy) are, and fail.
func TestIntegrityIsRememberedByTheEnvelopesBytes(t *testing.T) {
	ca := notationtest.NewCA(t, "Acme")
	raw := notationtest.Sign(t, ca.Leaf(t), []byte(`{"targetArtifact":{"digest":"sha256:00"}}`), notationtest.SignOptions{})
	memo := newIntegrityMemo()
	calls := 0
	candidate := func(data []byte) *notationEnvelope {
		ev := &Evidence{}
		ev.classifyNotation([]ocisig.Notation{{MediaType: ocisig.NotationJWSMediaType, Envelope: data}})
		n := ev.sigs[0].notation
		n.env = countingEnvelope{n.env, &calls}
		return n
	}
	for range 3 {
		if _, err := memo.verify(candidate(raw)); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("%d integrity checks of one envelope, want 1", calls)
	}
	tampered := []byte(strings.Replace(string(raw), `"signature":"`, `"signature":"AA`, 1))
	if _, err := memo.verify(candidate(tampered)); err == nil || calls != 2 {
		t.Fatalf("a tampered copy: err=%v after %d checks, want an error from a check of its own", err, calls)
	}
}
