package verify

import (
	"context"
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

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
	s := v.session(t.Request)
	ev, err := s.collect(ctx, at, want(r), r)
	if err != nil {
		return nil, err
	}
	if r.Platforms == policy.PlatformsAll {
		children := want(r)
		children.Attestations = false
		ev.platforms = s.collectPlatforms(ctx, t.Digest, at.Context(), children, r)
	}
	return ev, nil
}

// collect reads and parses what is attached to one digest.
// collect reads and parses what want selects attached to one digest, and
// gathers what the rule's Notation identities need of its Notation
// signatures (collect_notation.go).
func (s *session) collect(ctx context.Context, digest name.Digest, want ocisig.Want, r *policy.Rule) (*Evidence, error) {
	opts, err := s.remoteOpts(ctx, digest.Context())
	if err != nil {
		return nil, err
	}
	want.NoReferrersAPI = !s.v.registry.ReferrersAPI(digest.RegistryStr())
	found, err := ocisig.FetchWant(ctx, digest, want, opts...)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{}
	ev.classify(found)
	s.v.notationEvidence(ctx, ev, digest, r)
	return ev, nil
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
