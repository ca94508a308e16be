package peer

import (
	"strings"

	"github.com/signet-dev/signet/policy"
)

// cipGlobs writes a rule's patterns as policy-controller globs, which it
// matches against the normalized reference with its tag or digest: a
// repository takes ":**" and "@**" after it; a pattern already ending in
// a wildcard reaches them itself.
func cipGlobs(r *policy.Rule) []map[string]any {
	var out []map[string]any
	for _, g := range r.Match {
		s := g.String()
		if strings.HasSuffix(s, "*") {
			out = append(out, map[string]any{"glob": s})
			continue
		}
		out = append(out, map[string]any{"glob": s + ":**"}, map[string]any{"glob": s + "@**"})
	}
	return out
}

func (e *exporter) cip(r *policy.Rule, authorities []map[string]any, _ string) map[string]any {
	spec := map[string]any{"images": cipGlobs(r), "authorities": authorities}
	if e.p.ModeOf(r) == policy.ModeAudit {
		spec["mode"] = "warn"
	}
	return map[string]any{"apiVersion": "policy.sigstore.dev/v1beta1", "kind": "ClusterImagePolicy",
		"metadata": map[string]any{"name": k8sName(r.Name)}, "spec": spec}
}

// cipRule writes a signature rule: its identities as authorities, of
// which any one passes (so only a threshold of one is expressible).
func (e *exporter) cipRule(r *policy.Rule) {
	if r.Threshold > 1 {
		e.note(NotExpressible, r, "threshold %d: a ClusterImagePolicy passes when any one authority does; split the signers into policies over the same images (every matching policy must pass)", r.Threshold)
		return
	}
	var auths []map[string]any
	for _, id := range r.SignedBy {
		a, ok := e.cipAuthority(r, id)
		if !ok {
			return
		}
		auths = append(auths, a)
	}
	if len(r.Attestations) > 0 {
		for _, at := range r.Attestations {
			if len(r.SignedBy) > 1 || len(at.SignedBy) != 1 || at.SignedBy[0] != r.SignedBy[0] {
				e.note(NotExpressible, r, "attestation %s: policy-controller ties an attestation to the authority whose signature passed; signet requires it of its own signers (%s) whoever signed the image; export rules with attestations by one signer", at.Name, strings.Join(policy.IdentityNames(at.SignedBy), ", "))
				return
			}
		}
		for _, a := range auths {
			var atts []map[string]any
			for _, at := range r.Attestations {
				atts = append(atts, map[string]any{"name": celName(at.Name), "predicateType": at.PredicateType})
				if len(at.Conditions) > 0 || at.MaxAge > 0 {
					e.note(Weaker, r, "attestation %s: its conditions and age are not written as CUE or Rego; the peer accepts any %s attestation by the authority", at.Name, at.PredicateType)
				}
			}
			a["attestations"] = atts
		}
	}
	e.docs = append(e.docs, e.cip(r, auths, ""))
	e.note(Equivalent, r, "becomes ClusterImagePolicy %s with %d authorities (any one passes)", k8sName(r.Name), len(auths))
}

// cipAuthority writes an identity as an authority.
func (e *exporter) cipAuthority(r *policy.Rule, id *policy.Identity) (map[string]any, bool) {
	a := map[string]any{"name": k8sName(id.Name)}
	s := e.p.SigstoreOf(id)
	if s.TrustedRoot != policy.PublicGood && s.TrustedRoot != "" {
		e.note(NotExpressible, r, "identity %s names its own trusted root: write it as a TrustRoot (sigstoreKeys) and reference it with trustRootRef", id.Name)
		return nil, false
	}
	switch {
	case id.Notation != nil:
		e.note(NotExpressible, r, "identity %s is a Notation identity: policy-controller verifies Sigstore signatures only", id.Name)
		return nil, false
	case id.Key != nil:
		k, ok := e.keyRef(r, id)
		if !ok {
			return nil, false
		}
		a["key"] = k
		if id.Key.TransparencyLog == policy.Required {
			a["ctlog"] = map[string]any{"url": PublicRekor}
		}
	case id.Keyless != nil:
		ident := e.keylessIdentity(r, id)
		kl := map[string]any{"identities": []map[string]any{ident}}
		if s.CertificateTransparency != policy.Required {
			kl["insecureIgnoreSCT"] = true
		}
		if s.TransparencyLog != policy.Required {
			e.note(Stricter, r, "identity %s: transparencyLog optional; policy-controller checks the public log for keyless signatures", id.Name)
		}
		a["keyless"] = kl
	}
	if r.SignatureRepository != "" {
		a["source"] = []map[string]any{{"oci": r.SignatureRepository}}
	}
	return a, true
}
