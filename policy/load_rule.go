package policy

import (
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/internal/suggest"
)

func (l *loader) rule(n *yaml.Node, index int) {
	path := fmt.Sprintf("images[%d]", index)
	o := l.d.object(n, path)
	defer o.done()
	r := &Rule{Index: index, Name: path, Signature: Required, Threshold: 1, Platforms: PlatformsNamed}
	if v, _ := o.str("name"); v != "" {
		r.Name = v
	}
	pats, patNodes := o.strs("match")
	if len(pats) == 0 {
		l.d.errorf(nodeOr(o.get("match"), n), path+".match", "a rule needs at least one match pattern")
	}
	var matchNodes []*yaml.Node
	for i, p := range pats {
		_, err := CompileGlob(p) // report problems in the pattern as written
		g, nerr := CompileGlob(normalizePattern(p))
		if err == nil {
			err = nerr
		}
		if err != nil {
			l.d.errorf(patNodes[i], fmt.Sprintf("%s.match[%d]", path, i), "%v", err)
			continue
		}
		r.Match = append(r.Match, g)
		matchNodes = append(matchNodes, patNodes[i])
		l.patternTag(p, patNodes[i], fmt.Sprintf("%s.match[%d]", path, i))
	}
	l.matchNodes[r] = matchNodes
	defer l.shadowed(r, nodeOr(o.get("match"), n))

	var denyN *yaml.Node
	r.Deny, denyN = o.str("deny")
	r.Signature = l.ruleSignature(o, path)
	r.SignatureRepository = l.signatureRepository(o, path)
	r.SignatureAnnotations = l.signatureAnnotations(o, path)
	var refsOK bool
	r.SignedBy, refsOK = l.identityRefsChecked(o, "signedBy", path)
	if emptyList(o, "signedBy") {
		l.d.errorf(o.get("signedBy"), path+".signedBy", "is empty: name at least one identity (or use signature: optional, or deny)")
	}
	threshold, thN := o.integer("threshold")
	if thN != nil {
		r.Threshold = threshold
	}
	if o.has("provenance") {
		r.Provenance = l.provenance(o.get("provenance"), path+".provenance", r)
	}
	l.attestations(o, path, r)
	if v, vn := o.str("platforms"); v != "" {
		if p := Platforms(v); p == PlatformsNamed || p == PlatformsAll {
			r.Platforms = p
		} else {
			l.d.errorf(vn, path+".platforms", "must be %q or %q, got %q", PlatformsNamed, PlatformsAll, v)
		}
	}
	if pin, pn := o.boolean("pin"); pn != nil {
		r.NoPin = !pin
	}
	if v, vn := o.str("mode"); v != "" {
		if m := Mode(v); m == ModeEnforce || m == ModeAudit {
			r.Mode = m
		} else {
			l.d.errorf(vn, path+".mode", "must be %q or %q, got %q", ModeEnforce, ModeAudit, v)
		}
	}

	switch {
	case o.has("deny"):
		if r.Deny == "" {
			l.d.errorf(denyN, path+".deny", "a deny rule needs a message telling the developer what to do")
		}
		for _, k := range []string{"signedBy", "signature", "threshold", "provenance", "attestations", "platforms", "pin", "signatureRepository", "signatureAnnotations"} {
			if o.has(k) {
				l.d.errorf(o.get(k), path+"."+k, "has no effect in a deny rule")
			}
		}
	case r.Signature == Optional:
		for _, k := range []string{"signedBy", "threshold", "provenance", "attestations", "platforms", "signatureRepository", "signatureAnnotations"} {
			if o.has(k) {
				l.d.errorf(o.get(k), path+"."+k, "has no effect with signature: optional (use mode: audit to observe signatures without enforcing them, or signature: ifPresent to check those that are there)")
			}
		}
		l.catchAllOptional(r, matchNodes, path)
	default:
		if len(r.SignedBy) == 0 && !o.has("signedBy") {
			l.d.errorf(n, path, "a rule needs signedBy, signature: optional, or deny")
		}
		if thN != nil && refsOK && len(r.SignedBy) > 0 && (r.Threshold < 1 || r.Threshold > len(r.SignedBy)) {
			l.d.errorf(thN, path+".threshold", "must be between 1 and the number of signedBy identities (%d)", len(r.SignedBy))
		}
		l.thresholdOneRepository(r, thN, path)
		l.signatureAnnotationSigners(r, o.get("signatureAnnotations"), path)
		if r.Signature == IfPresent {
			l.ifPresentAlone(o, path)
		}
	}
	l.p.Rules = append(l.p.Rules, r)
}

// identityRefs resolves identity names. Identities are declared before
// images in every sensible file, but order is not required: references are
// resolved against the identities section as a whole.
func (l *loader) identityRefs(o *object, key, path string) []*Identity {
	ids, _ := l.identityRefsChecked(o, key, path)
	return ids
}

// identityRefsChecked is identityRefs that also says whether every listed
// name resolved to a distinct signer (so later checks do not repeat its errors).
func (l *loader) identityRefsChecked(o *object, key, path string) ([]*Identity, bool) {
	names, nodes := o.strs(key)
	out := make([]*Identity, 0, len(names))
	for i, nm := range names {
		id := l.p.byName[nm]
		if id == nil {
			l.d.errorf(nodes[i], fmt.Sprintf("%s.%s[%d]", path, key, i), "undefined identity %q%s", nm, suggest.DidYouMean(nm, l.identityNames()))
			continue
		}
		if slices.Contains(out, id) {
			l.d.errorf(nodes[i], fmt.Sprintf("%s.%s[%d]", path, key, i), "identity %q listed twice", nm)
			continue
		}
		if twin := sameKey(out, id); twin != nil {
			l.d.errorf(nodes[i], fmt.Sprintf("%s.%s[%d]", path, key, i),
				"identity %q is the same key as %q: one key is one signer, and a threshold counts it once", nm, twin.Name)
			continue
		}
		out = append(out, id)
	}
	return out, len(out) == len(names)
}

// sameKey returns the identity in ids whose key is id's key (the same
// public key, however written, or the same KMS URI), or nil.
func sameKey(ids []*Identity, id *Identity) *Identity {
	if id.Key == nil {
		return nil
	}
	for _, o := range ids {
		switch {
		case o.Key == nil:
		case id.Key.KeyID != "" && o.Key.KeyID == id.Key.KeyID, id.Key.KMS != "" && o.Key.KMS == id.Key.KMS:
			return o
		}
	}
	return nil
}

func (l *loader) identityNames() []string {
	out := make([]string, 0, len(l.p.byName))
	for n := range l.p.byName {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (l *loader) provenance(n *yaml.Node, path string, r *Rule) *Provenance {
	o := l.d.object(n, path)
	defer o.done()
	pv := &Provenance{Required: true, PredicateTypes: []string{SLSAProvenanceV1}}
	if req, rn := o.boolean("required"); rn != nil {
		pv.Required = req
	}
	if v02, _ := o.boolean("allowSLSAv02"); v02 {
		pv.PredicateTypes = append(pv.PredicateTypes, SLSAProvenanceV02)
	}
	if types, tn := o.strs("predicateTypes"); len(types) > 0 {
		for i, t := range types {
			if t == SLSAProvenanceV02 && !slices.Contains(pv.PredicateTypes, t) {
				l.d.errorf(tn[i], path+".predicateTypes", "SLSA v0.2 needs allowSLSAv02: true (it lacks v1's source fields)")
			}
		}
		pv.PredicateTypes = types
	}
	pv.SignedBy = l.identityRefs(o, "signedBy", path)
	if emptyList(o, "signedBy") {
		l.d.errorf(o.get("signedBy"), path+".signedBy", "is empty: name at least one identity, or leave signedBy out to use the rule's")
	}
	if len(pv.SignedBy) == 0 {
		pv.SignedBy = r.SignedBy
	}
	pv.BuilderIDs = l.globs(o, "builderIDs", true)
	pv.BuildTypes, _ = o.strs("buildTypes")
	pv.SourceRepositories = l.globs(o, "sourceRepositories", true)
	pv.SourceRefs = l.globs(o, "sourceRefs", false)
	pv.SourceMatchesSigner, _ = o.boolean("sourceMatchesSigner")
	pv.Conditions = l.conditions(o, path)
	if pv.SourceMatchesSigner {
		for _, id := range pv.SignedBy {
			if id.Keyless == nil {
				l.d.errorf(o.get("sourceMatchesSigner"), path+".sourceMatchesSigner", "identity %q is a key: it has no source repository to compare", id.Name)
			}
		}
	}
	return pv
}
