package verify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// Evidence is what is attached to one digest, read but not yet trusted:
// the signatures and attestations found in both layouts (or, for sign's
// preflight, those a run will attach), the material that could not be read,
// and, under a rule with platforms: all, the evidence on each platform of
// an index. Evaluate decides a Target from it.
type Evidence struct {
	sigs, atts []*candidate
	rejected   []Rejection
	// unread is what was listed but not read (over ocisig.MaxItems).
	unread []ocisig.Unread
	// trust checks found candidates (nil for predicted evidence).
	trust *Verifier
	// platforms is set when the rule requires every platform signed.
	platforms *platformEvidence
}

// Signer is who signs, known before anything is signed: the certificate
// Fulcio will issue (predicted from the CI token's claims) or the key
// (its key id, and its KMS URI when it lives in a KMS).
type Signer struct {
	Certificate *certificate.Summary
	KeyID, KMS  string
	// Notation is set when the run also (or only) signs with Notation.
	Notation *NotationSigner
}

func (s Signer) String() string {
	var out string
	switch {
	case s.Certificate != nil:
		out = s.Certificate.SubjectAlternativeName
	case s.KeyID != "":
		out = "key " + s.KeyID
	}
	if s.Notation != nil && len(s.Notation.Chain) > 0 {
		if out != "" {
			out += " and "
		}
		out += "notation " + s.Notation.Chain[0].Subject.String()
	}
	if out == "" {
		return "<nobody>"
	}
	return out
}

// sigstore reports whether s signs with Sigstore (a certificate or a key).
func (s Signer) sigstore() bool { return s.Certificate != nil || s.KeyID != "" || s.KMS != "" }

// Statement is an in-toto statement a run will attach: its predicate type
// and predicate (the subject is the digest the run signs).
type Statement struct {
	PredicateType string
	Predicate     json.RawMessage
}

// Predicted is the evidence a signing run will produce, before it signs
// anything: a signature by s and, for each statement, an attestation by s.
// sign's preflight evaluates it with Evaluate, exactly as the cluster will
// evaluate what the run attaches; nothing is contacted.
func Predicted(s Signer, statements ...Statement) *Evidence {
	ev := &Evidence{}
	if s.sigstore() || s.Notation == nil {
		ev.sigs = append(ev.sigs, &candidate{kind: ocisig.KindSignature, predicted: &s})
	}
	if s.Notation != nil {
		ev.sigs = append(ev.sigs, &candidate{layout: ocisig.LayoutNotation, kind: ocisig.KindSignature, predicted: &s})
	}
	for _, st := range statements {
		pst := &statement{Type: ocisig.InTotoStatementType, PredicateType: st.PredicateType, Predicate: st.Predicate}
		pst.payload, _ = json.Marshal(pst) // a Predicate that is not JSON fails its conditions, as it would in the cluster
		ev.atts = append(ev.atts, &candidate{kind: ocisig.KindAttestation, predicted: &s, statement: pst})
	}
	return ev
}

// Collect reads the evidence attached to t's digest: signatures, the
// attestations when the rule requires provenance or other attestations
// (one pass reads both kinds, in both layouts), and with platforms: all
// the signatures of every platform of an index. An error means the
// signatures could not be read at all.
func (v *Verifier) Collect(ctx context.Context, t Target) (*Evidence, error) {
	r := t.Match.Rule
	at, err := signatureDigest(r, t.Digest)
	if err != nil {
		return nil, err
	}
	ev, err := v.collect(ctx, at, want(r))
	if err != nil {
		return nil, err
	}
	if r.Platforms == policy.PlatformsAll {
		children := want(r)
		children.Attestations = false
		ev.platforms = v.collectPlatforms(ctx, t.Digest, at.Context(), children)
	}
	return ev, nil
}

// collect reads and parses what is attached to one digest.
func (v *Verifier) collect(ctx context.Context, digest name.Digest, want ocisig.Want) (*Evidence, error) {
	opts, err := v.remoteOpts(ctx, digest.Context())
	if err != nil {
		return nil, err
	}
	found, err := ocisig.FetchWant(ctx, digest, want, opts...)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{trust: v}
	ev.classify(found)
	return ev, nil
}

// platformEvidence is the evidence on the platforms of an index.
type platformEvidence struct {
	// err: the index could not be read; index: the digest is an image.
	err      error
	index    bool
	children []platformChild
}

type platformChild struct {
	desc v1.Descriptor
	ev   *Evidence
	err  error
}

// collectPlatforms reads the index digest names and the signatures of each
// platform child (attestation manifests are not platforms), at most
// MaxPlatforms of them; the children's signatures are read in sigs (the
// image's repository, or the rule's signatureRepository).
func (v *Verifier) collectPlatforms(ctx context.Context, digest name.Digest, sigs name.Repository, want ocisig.Want) *platformEvidence {
	im, err := v.index(ctx, digest)
	if err != nil || im == nil {
		return &platformEvidence{err: err}
	}
	pe := &platformEvidence{index: true}
	for _, child := range im.Manifests {
		if !isAttestationManifest(child) {
			pe.children = append(pe.children, platformChild{desc: child})
		}
	}
	if len(pe.children) > MaxPlatforms {
		return pe // denied by count before any child is read
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(platformParallel)
	for i := range pe.children {
		c := &pe.children[i]
		g.Go(func() error {
			c.ev, c.err = v.collect(gctx, sigs.Digest(c.desc.Digest.String()), want)
			return nil
		})
	}
	_ = g.Wait() // failures are in each child
	return pe
}

// classify parses what was found into signature and attestation candidates.
// Unparseable material is recorded as rejected, never fatal: a registry
// holding junk next to a good signature must not block the good one.
func (ev *Evidence) classify(found *ocisig.Found) {
	ev.unread = found.Unread
	for _, l := range found.Legacy {
		b, err := fromLegacy(l)
		if err != nil {
			ev.reject(ocisig.LayoutLegacy, l.Kind, NewReason(CodeUnreadable, "unreadable: %v", err))
			continue
		}
		c := &candidate{layout: ocisig.LayoutLegacy, kind: l.Kind, entity: b}
		if l.Kind == ocisig.KindSignature {
			c.payload = l.Payload
			ev.sigs = append(ev.sigs, c)
			continue
		}
		if c.statement, err = envelopeStatement(b); err != nil {
			ev.reject(ocisig.LayoutLegacy, l.Kind, NewReason(CodeUnreadable, "%v", err))
			continue
		}
		c.stamped = l.Payload
		ev.atts = append(ev.atts, c)
	}
	for _, fb := range found.Bundles {
		b, err := parseBundle(fb.JSON)
		if err != nil {
			ev.reject(ocisig.LayoutBundle, "", NewReason(CodeUnreadable, "referrer %s: %v", fb.Manifest, err))
			continue
		}
		c := &candidate{layout: ocisig.LayoutBundle, kind: ocisig.KindSignature, entity: b}
		if b.GetDsseEnvelope() != nil {
			if c.statement, err = envelopeStatement(b); err != nil {
				ev.reject(ocisig.LayoutBundle, "", NewReason(CodeUnreadable, "referrer %s: %v", fb.Manifest, err))
				continue
			}
			if c.statement.PredicateType != ocisig.CosignSignPredicateType {
				c.kind = ocisig.KindAttestation
			}
		}
		if c.kind == ocisig.KindSignature {
			ev.sigs = append(ev.sigs, c)
		} else {
			ev.atts = append(ev.atts, c)
		}
	}
	ev.classifyNotation(found.Notation)
}

func (ev *Evidence) reject(layout ocisig.Layout, kind ocisig.Kind, r Reason) {
	ev.rejected = append(ev.rejected, Rejection{Layout: layout, Kind: kind, Reason: r.String(), Code: r.Code, Mismatch: r.Mismatch})
}

var _ = fmt.Sprintf
