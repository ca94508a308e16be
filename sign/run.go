package sign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// Predicate is an attestation to attach: SLSA provenance from CI, or any
// predicate the user supplies.
type Predicate struct {
	Type string
	JSON json.RawMessage
	// Provenance is set when the predicate is signet-built SLSA provenance,
	// so preflight can check it against the rule.
	Provenance *attest.Provenance
}

// Decider is the verify engine as the post-check needs it.
type Decider interface {
	Verify(ctx context.Context, image string, p *policy.Policy) *verify.Decision
}

// Request is one `sign image` / `sign attest` run.
type Request struct {
	Image  string
	Format Format
	// Sign attaches a signature; Attest (non-nil) attaches an attestation.
	Sign   bool
	Attest *Predicate
	// SkipChildren signs only the index, not its child manifests.
	SkipChildren bool
	// Policy enables preflight (before any registry access) and, with
	// PostCheck, the post-check. Nil skips both.
	Policy    *policy.Policy
	Signer    Signer
	PostCheck Decider
	Remote    []remote.Option
	Log       Logf
}

// Result is what a run did, for outputs.
type Result struct {
	Image     string           `json:"image"`
	Digest    string           `json:"digest"`
	Pinned    string           `json:"pinned"`
	FromTag   bool             `json:"fromTag"`
	Signed    []Attached       `json:"signed,omitempty"`
	Attested  []Attached       `json:"attested,omitempty"`
	Preflight *PreflightReport `json:"preflight,omitempty"`
	Decision  *verify.Decision `json:"postCheck,omitempty"`
}

// ErrPreflight and ErrPostCheck mark policy refusals, so callers can tell
// them from infrastructure failures.
var (
	ErrPreflight = errors.New("preflight refused")
	ErrPostCheck = errors.New("post-check denied")
)

// Run preflights, resolves, signs and attests, then post-checks.
func Run(ctx context.Context, s *Session, req Request) (*Result, error) {
	log := req.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	res := &Result{Image: req.Image}
	if req.Policy != nil {
		var prov *attest.Provenance
		if req.Attest != nil {
			prov = req.Attest.Provenance
		}
		res.Preflight = Preflight(req.Policy, req.Image, req.Signer, prov)
		if !res.Preflight.OK {
			return res, fmt.Errorf("%w: %w", ErrPreflight, res.Preflight.Err())
		}
	}
	// Registry reads and writes retry like the Sigstore services do, and
	// writes share one pusher: one ping and token exchange per repository
	// for the whole run. (Reads do not share a puller: ocisig asks each
	// listing whether the registry has the referrers API, which a shared
	// puller would answer once, with its own fallback setting.)
	req.Remote = append(slices.Clip(req.Remote), s.registryOptions()...)
	if pusher, err := remote.NewPusher(req.Remote...); err == nil {
		req.Remote = append(req.Remote, remote.Reuse(pusher))
	}
	t, err := Resolve(ctx, req.Image, req.Remote...)
	if err != nil {
		return res, err
	}
	res.Digest, res.FromTag = t.Digest.DigestStr(), t.FromTag
	res.Pinned = t.Digest.String()
	if t.FromTag {
		log("warning: %s is a tag; signing the digest it names now, %s", req.Image, t.Digest.DigestStr())
	}
	digests := []name.Digest{t.Digest}
	if !req.SkipChildren {
		digests = append(digests, t.Children...)
	}
	// The attestation is signed while the signatures are: each waits on
	// its own log and timestamp authority round trips, and the session's
	// one certificate serves both.
	var att struct {
		a   Attached
		err error
	}
	done := make(chan struct{})
	if req.Attest != nil {
		go func() {
			defer close(done)
			att.a, att.err = s.AttestDigest(ctx, t.Digest, req.Attest.Type, req.Attest.JSON, req.Format, req.Remote...)
		}()
	} else {
		close(done)
	}
	var signErr error
	for _, d := range digests {
		if !req.Sign {
			break
		}
		a, err := s.SignDigest(ctx, d, req.Format, req.Remote...)
		if err != nil {
			signErr = err
			break
		}
		log("signed %s", d)
		res.Signed = append(res.Signed, a)
	}
	<-done
	if signErr != nil {
		return res, signErr
	}
	if req.Attest != nil {
		if att.err != nil {
			return res, att.err
		}
		log("attested %s (%s)", t.Digest, req.Attest.Type)
		res.Attested = append(res.Attested, att.a)
	}
	if req.Policy != nil && req.PostCheck != nil {
		res.Decision = req.PostCheck.Verify(ctx, t.Digest.String(), req.Policy)
		if !res.Decision.Allowed {
			return res, fmt.Errorf("%w: the cluster would deny %s: %v", ErrPostCheck, t.Digest, res.Decision.Messages())
		}
	}
	return res, nil
}
