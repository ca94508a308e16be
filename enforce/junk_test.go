package enforce

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// TestJunkReferrersDoNotVetoALegacySignature is issue 21's tenth attack: a
// user with push but no delete rights adds 65 bundle-looking referrers to
// a production digest. Its valid legacy .sig still admits it, and the
// decision says what was left unread.
func TestJunkReferrersDoNotVetoALegacySignature(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	d := w.Push("acme/app:junk")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutLegacy)
	w.Junk(d, ocisig.MaxItems+1, time.Now())
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := NewCache(verify.New(), CacheConfig{}).Decide(context.Background(), verify.Request{Image: w.Ref("acme/app:junk"), Policy: p})
	if !dec.Allowed {
		t.Fatalf("65 junk referrers vetoed a valid legacy signature: %v", dec.Messages())
	}
	if !unreadNamed(dec, "has 65 Sigstore bundles attached as referrers, more than the 64 signet reads") {
		t.Errorf("the decision does not say what was left unread: %+v", dec.Rejected)
	}
}

// TestAJunkDenialIsNotKept: when junk newer than the only signature (a
// bundle) hides it past the cap, the denial says what was not read and is
// not cached: once the junk is deleted the next admission is allowed, even
// with a negative cache far longer than the test.
func TestAJunkDenialIsNotKept(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	d := w.Push("acme/app:hidden")
	w.Sign(d, d, w.KeySigner(nil), ocisig.LayoutBundle)
	junk := w.Junk(d, ocisig.MaxItems+1, time.Now().Add(30*time.Minute))
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache(verify.New(), CacheConfig{NegativeTTL: time.Hour})
	image := w.Ref("acme/app:hidden")
	dec := cache.Decide(context.Background(), verify.Request{Image: image, Policy: p})
	if dec.Allowed || !dec.Transient || !strings.Contains(strings.Join(dec.Messages(), "\n"), "not everything attached to") {
		t.Fatalf("junk hiding the signature: allowed=%v transient=%v %v", dec.Allowed, dec.Transient, dec.Messages())
	}
	if msg := strings.Join(dec.Messages(), "\n"); len(msg) > 2048 || !strings.Contains(msg, "and 61 more (see rejected)") {
		t.Errorf("the denial names every junk item (%d bytes) instead of the first few:\n%s", len(msg), msg)
	}
	w.Delete(junk...)
	if dec := cache.Decide(context.Background(), verify.Request{Image: image, Policy: p}); !dec.Allowed {
		t.Fatalf("after the junk was deleted the denial was still kept: %v", dec.Messages())
	}
}

func unreadNamed(d *verify.Decision, text string) bool {
	for _, r := range d.Rejected {
		if r.Code == verify.CodeTooManySignatures && strings.Contains(r.Reason, text) {
			return true
		}
	}
	return false
}
