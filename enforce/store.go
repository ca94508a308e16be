package enforce

import (
	"context"
	"time"

	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// Store is enforce's one decision store: a verify.TargetDecider in front
// of the engine's. It keeps decisions by verify.Target.Key (the digest,
// the governing rule's meaning and the trusted material's version; never
// a tag, never the whole policy: an edit elsewhere in the trust file keeps
// them), shares one verification among concurrent requests for the same
// key and credentials, and decides nothing itself: every decision it
// returns, even when the engine does not answer in time, is built by
// verify. Admissions and the background verifier ask the same Store;
// what each may be answered with from memory is its freshness (fresh).
//
// Work in flight carries the credentials of the request that started it,
// so it is shared only among requests with the same credentials
// (credentialsID): a tenant's anonymous lookup never fails another's
// authenticated admission with its 401, and a tenant without access never
// rides on another's authenticated registry reads. A decision is kept for
// everyone: it says what is attached to a digest under a rule, which does
// not depend on who asked (a failure that might, a 401 among them, is
// transient and never kept), and pulling the digest stays the kubelet's,
// with the pod's own credentials.
type Store struct {
	engine verify.TargetDecider
	cfg    CacheConfig
	mem    *lru[kept]
	work   flights[*verify.Decision]
	stats  *CacheStats
}

// Decide implements verify.TargetDecider: a kept decision for t's key
// fresh enough for the request, presented for t, or one shared
// verification, kept for later requests.
func (s *Store) Decide(ctx context.Context, t verify.Target, trust *verify.Trust) *verify.Decision {
	if err := trust.Err(); err != nil {
		return t.Unavailable(verify.NewReason(verify.CodeTrustedRootUnavailable, "%v", err))
	}
	key := t.Key(trust)
	if d, ok := s.recall(key, t.Request); ok {
		return t.Present(d)
	}
	s.miss(t.Request)
	return s.verify(ctx, t, trust, key)
}

// verify decides t with the engine, in one verification shared with every
// concurrent request for its key and credentials, and keeps the decision
// for later requests. It is Decide's miss path, apart so that only a miss
// pays for the work's closure.
func (s *Store) verify(ctx context.Context, t verify.Target, trust *verify.Trust, key string) *verify.Decision {
	t.Wait()
	t.Waiting = nil // the shared work runs in its own goroutine
	creds, _ := credentialsID(t.Keychain)
	f, err := s.work.join(ctx, key+"\x00"+creds, t.Priority(), func(tr *regclient.Tracker) (*verify.Decision, error) {
		s.stats.Verifications.Add(1)
		vctx, cancel := context.WithTimeout(context.Background(), s.cfg.VerifyTimeout)
		defer cancel()
		shared := t
		shared.Tracker = tr
		d := s.engine.Decide(vctx, shared, trust)
		if !d.Transient {
			// A registry or trust-root failure says nothing about the
			// image, and may depend on the caller's credentials: never kept.
			now := s.cfg.Now()
			s.mem.put(key, kept{d: d, at: now}, s.cfg.keep(d, now))
		}
		return d, nil
	})
	if err != nil {
		return t.Unavailable(verify.NewReason(verify.CodeOverloaded, "verification of %s did not start: %v", t.Digest, err))
	}
	select {
	case <-f.done:
		return t.Present(f.val)
	case <-ctx.Done():
		return t.Unavailable(deadlineReason(t, ctx.Err(), f.tr.Failure()))
	}
}

// kept is a decision in the store and when it was put there.
type kept struct {
	d  *verify.Decision
	at time.Time
}

// recall returns the kept decision for key when it is fresh for req.
func (s *Store) recall(key string, req verify.Request) (*verify.Decision, bool) {
	k, ok := s.mem.get(key)
	if !ok || !s.cfg.fresh(k, req, s.cfg.Now()) {
		return nil, false
	}
	if req.Background {
		s.stats.BackgroundHits.Add(1)
	} else {
		s.stats.Hits.Add(1)
	}
	return k.d, true
}

func (s *Store) miss(req verify.Request) {
	if req.Background {
		s.stats.BackgroundMisses.Add(1)
	} else {
		s.stats.Misses.Add(1)
	}
}

// fresh says whether a kept decision may answer req: for an admission, an
// allow for PositiveTTL and a denial for NegativeTTL since it was kept;
// for the background verifier, an allow for MaxAge (the registry is asked
// again about a passing digest at most this often) and a denial until a
// pass asks for denials to be verified again (ReverifyDenied: a denial is
// fixed by signing, not by waiting).
func (c CacheConfig) fresh(k kept, req verify.Request, now time.Time) bool {
	if v := k.d.ValidUntil; v != nil && !now.Before(*v) {
		return false // an attestation it rests on became too old
	}
	age := now.Sub(k.at)
	denied := k.d.Outcome() != verify.OutcomeAllow
	switch {
	case !req.Background && denied:
		return age < c.NegativeTTL
	case !req.Background:
		return age < c.PositiveTTL
	case denied:
		return !req.ReverifyDenied
	}
	return age < c.MaxAge
}

// keep is how long d, kept at now, stays in the store: as long as any
// request may be answered with it (fresh), and never past its ValidUntil.
func (c CacheConfig) keep(d *verify.Decision, now time.Time) time.Duration {
	ttl := max(c.PositiveTTL, c.NegativeTTL, c.MaxAge)
	if v := d.ValidUntil; v != nil {
		ttl = min(ttl, v.Sub(now))
	}
	return ttl
}

// deadlineReason is the reason a verification still in flight at the
// request's deadline gives: what its registry traffic went through (f),
// which would otherwise only say that time ran out.
func deadlineReason(t verify.Target, err error, f *regclient.Failure) verify.Reason {
	if f == nil {
		return verify.NewReason(verify.CodeDeadlineExceeded, "verification of %s did not finish within the admission deadline (%v); a registry, TUF or the timestamp authority may be slow or unreachable",
			t.Digest, err)
	}
	return verify.NewReason(verify.CodeDeadlineExceeded, "verification of %s did not finish within the admission deadline (%v): %s", t.Digest, err, f).WithRegistry(f)
}
