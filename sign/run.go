package sign

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// Request is one `sign image` / `sign attest` run.
type Request struct {
	Image  string
	Format Format
	// Sign attaches a signature; each of Attest is attached as an
	// attestation (SLSA provenance from CI, an SBOM, a scan, any predicate).
	Sign   bool
	Attest []attest.Predicate
	// PublishFailing attaches the attestations even when preflight finds
	// that a condition of the trust file fails on them (a scheduled
	// re-scan: the cluster then denies the next rollout). The post-check
	// still fails the run.
	PublishFailing bool
	// SkipChildren signs only the index, not its child manifests.
	SkipChildren bool
	// Policy enables preflight (before any registry access) and, with
	// PostCheck, the post-check. Nil skips both.
	Policy    *policy.Policy
	Signer    Signer
	PostCheck *PostCheck
	// Keychain holds the registry credentials (nil: anonymous).
	Keychain authn.Keychain
	Remote   []remote.Option
	Log      Logf
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
	// Pending are the post-check's reasons that only ask for what other
	// runs attach (another attestation, the signature of an attestation-only
	// run): the cluster denies until they do, and the run did its part.
	Pending []string `json:"pending,omitempty"`
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
		res.Preflight = Preflight(req.Policy, req.Image, req.Signer, req.Attest)
		switch pf := res.Preflight; {
		case pf.OK:
		case req.PublishFailing && len(pf.Problems) == 0:
			log("warning: --publish-failing: attaching attestations that fail the trust policy's conditions; the cluster will deny %s", req.Image)
		default:
			return res, fmt.Errorf("%w: %w", ErrPreflight, pf.Err())
		}
	}
	// Every registry request of the run, the post-check's included, goes
	// through one regclient.Client: one authenticated transport with the
	// run's memory of what it wrote, retried like the Sigstore services.
	ref, err := name.ParseReference(req.Image)
	if err != nil {
		return res, fmt.Errorf("parsing image reference %q: %w", req.Image, err)
	}
	reg := s.cfg.client("registry", regclient.WithMemory())
	auth, err := credentials(ctx, req.Keychain, ref.Context())
	if err != nil {
		return res, err
	}
	rt, err := reg.Writer(ctx, ref.Context(), auth)
	if err != nil {
		return res, err
	}
	reads := append([]remote.Option{remote.WithTransport(rt)}, req.Remote...)
	t, err := Resolve(ctx, req.Image, reads...)
	if err != nil {
		return res, err
	}
	res.Digest, res.FromTag = t.Digest.DigestStr(), t.FromTag
	res.Pinned = t.Digest.String()
	if t.FromTag {
		log("warning: %s is a tag; signing the digest it names now, %s", req.Image, t.Digest.DigestStr())
	}
	subjects := []Subject{t.Subject()}
	if !req.SkipChildren {
		subjects = append(subjects, t.Children...)
	}
	mats, err := produce(ctx, s, req, subjects)
	if err != nil {
		return res, err
	}
	pub := RegistryPublisher{Writer: ocisig.NewWriter(t.Digest.Context(), rt, req.Remote...)}
	for i, subj := range subjects {
		out, err := pub.Publish(ctx, subj, mats[i])
		if err != nil {
			return res, err
		}
		for j, m := range mats[i] {
			switch {
			case m.Kind == ocisig.KindAttestation:
				log("attested %s (%s)", subj.Digest, m.PredicateType)
				res.Attested = append(res.Attested, out[j])
			case m.Notation != nil:
				log("signed %s with Notation", subj.Digest)
				res.Signed = append(res.Signed, out[j])
			default:
				log("signed %s", subj.Digest)
				res.Signed = append(res.Signed, out[j])
			}
		}
	}
	if req.Policy != nil && req.PostCheck != nil {
		res.Decision = req.PostCheck.decide(ctx, reg, verify.Request{Image: t.Digest.String(), Policy: req.Policy, Keychain: req.Keychain})
		if !res.Decision.Allowed {
			if res.Pending = pending(res.Decision, req); res.Pending == nil {
				return res, fmt.Errorf("%w: the cluster would deny %s: %v", ErrPostCheck, t.Digest, res.Decision.Messages())
			}
			log("the cluster denies %s until other runs attach what this one does not: %s", t.Digest, strings.Join(res.Pending, "; "))
		}
	}
	return res, nil
}

// credentials are kc's credentials for repo (anonymous without a keychain).
func credentials(ctx context.Context, kc authn.Keychain, repo name.Repository) (authn.Authenticator, error) {
	if kc == nil {
		return authn.Anonymous, nil
	}
	a, err := authn.Resolve(ctx, kc, repo)
	if err != nil {
		return nil, fmt.Errorf("finding credentials for %s: %w", repo, err)
	}
	return a, nil
}

// produce signs everything of the run before anything is published: per
// subject, its signature (when req.Sign) and, for the first, the
// attestations. The attestations are signed while the signatures are:
// each waits on its own log and timestamp authority round trips, and the
// session's one certificate serves all.
func produce(ctx context.Context, p Producer, req Request, subjects []Subject) ([][]Material, error) {
	mats := make([][]Material, len(subjects))
	var atts []Material
	var attErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, a := range req.Attest {
			var m Material
			if m, attErr = p.Attestation(ctx, subjects[0].Digest, a.Type, a.JSON, req.Format); attErr != nil {
				return
			}
			atts = append(atts, m)
		}
	}()
	var signErr error
	for i, subj := range subjects {
		if !req.Sign {
			break
		}
		if mats[i], signErr = signatures(ctx, p, subj, req.Format); signErr != nil {
			break
		}
	}
	<-done
	if signErr != nil {
		return nil, signErr
	}
	if attErr != nil {
		return nil, attErr
	}
	mats[0] = append(mats[0], atts...)
	return mats, nil
}

// signatures signs one subject with each kind of signer the producer has:
// Sigstore, Notation, or both.
func signatures(ctx context.Context, p Producer, subj Subject, f Format) ([]Material, error) {
	var out []Material
	if p.SignsSigstore() {
		m, err := p.Signature(ctx, subj.Digest, f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if n := p.Notation(); n != nil {
		m, err := n.Signature(ctx, subj)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}
