package peer

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Kyverno ImageValidatingPolicy (policies.kyverno.io v1alpha1, v1beta1,
// v1): attestors and attestations by name, matchImageReferences globs, and
// CEL validations that call verifyImageSignatures,
// verifyAttestationSignatures and extractPayload (ivpol_cel.go).

var ivpolSpecFields = []string{"matchConstraints", "failurePolicy", "auditAnnotations", "validationActions", "matchConditions",
	"variables", "validationConfigurations", "matchImageReferences", "credentials", "images", "attestors", "attestations",
	"validations", "webhookConfiguration", "evaluation", "autogen"}

// ivpol is one ImageValidatingPolicy being read.
type ivpol struct {
	d         document
	r         *sourceRule
	attestors map[string]ivAttestor
	// attestations maps a name to its predicate type ("" for a referrer).
	attestations map[string]string
	// allContainers: the report said the policy checks only some lists.
	allContainers bool
}

// ivpolDigestNotes are validationConfigurations' digestNotes.
var ivpolDigestNotes = digestNotes{
	mutate:   "mutateDigest: false becomes pin: false: the workload keeps its tag; signet still verifies the digest the tag names",
	verify:   "verifyDigest: false lets Kyverno admit a tag without a digest; signet always decides about a digest",
	required: "required: false lets an image no validation verified through; signet verifies every image its rules match",
}

// ivAttestor is an attestor read: the identities it is (any one
// satisfies it).
type ivAttestor struct {
	ids []string
	at  Pos
}

func (c *converter) imageValidatingPolicy(d document) {
	spec := d.root.obj("spec")
	r := c.policyRule(d, spec, ivpolSpecFields)
	if d.kind == "NamespacedImageValidatingPolicy" {
		r.ns.restricted = append(r.ns.restricted, fmt.Sprintf("in namespace %q (a namespaced policy)", namespaceOf(d)))
	}
	r.req.mode = ivpolMode(spec)
	if fp, _ := spec.str("failurePolicy"); fp == "Ignore" {
		c.ruleNote(r, Stricter, spec.at("failurePolicy"), "failurePolicy: Ignore admits images when Kyverno cannot answer; signet fails closed")
	}
	c.ivpolMatch(r, spec)
	globs := spec.list("matchImageReferences")
	for _, m := range globs {
		if g, _ := m.str("glob"); g != "" {
			c.scope(r, kyvernoGlob, g, m.at("glob"))
		} else {
			c.ruleNote(r, NotExpressible, m.pos(), "a CEL matchImageReferences expression: signet selects images by repository pattern; write it as globs")
			r.refused = true
		}
	}
	if len(globs) == 0 {
		r.scopes = append(r.scopes, patternAt{"**", spec.pos()})
		c.ruleNote(r, Equivalent, spec.pos(), "no matchImageReferences: the policy applies to every image")
	}
	if spec.has("images") {
		c.ruleNote(r, NotExpressible, spec.at("images"), "custom image extractors: signet verifies the images of the workload kinds it knows")
		r.refused = true
	}
	c.digestFlags(r, spec.obj("validationConfigurations"), ivpolDigestNotes)
	if spec.has("credentials") {
		c.ruleNote(r, Equivalent, spec.at("credentials"), "credentials: signet reads registries with the pod's pull secrets and enforce's own credentials, not per policy")
	}
	p := &ivpol{d: d, r: r, attestors: map[string]ivAttestor{}, attestations: map[string]string{}}
	for _, a := range spec.list("attestors") {
		c.ivpolAttestor(p, a)
	}
	for _, a := range spec.list("attestations") {
		name, _ := a.str("name")
		switch {
		case a.has("intoto"):
			p.attestations[name], _ = a.obj("intoto").str("type")
		case a.has("referrer"):
			p.attestations[name] = ""
		}
	}
	for _, v := range spec.list("validations") {
		c.ivpolValidation(p, v)
	}
	if len(r.req.clauses) == 0 && len(r.req.attestations) > 0 {
		c.attestationsOnly(r, spec.at("validations"))
	}
	if len(r.req.clauses) == 0 && len(r.req.attestations) == 0 && !r.refused {
		c.ruleNote(r, Equivalent, spec.at("validations"), "no validation verifies a signature: signet pins these images without one (signature: optional)")
		r.req.none = true
	}
}

func namespaceOf(d document) string {
	ns, _ := d.root.obj("metadata").str("namespace")
	return ns
}

// ivpolMode: validationActions Deny enforces; Audit or Warn alone audit.
func ivpolMode(spec obj) policy.Mode {
	actions, _ := spec.strs("validationActions")
	for _, a := range actions {
		if a == "Deny" {
			return ""
		}
	}
	if len(actions) > 0 {
		return policy.ModeAudit
	}
	return ""
}

// ivpolMatch reads matchConstraints' namespace restrictions.
func (c *converter) ivpolMatch(r *sourceRule, spec obj) {
	mc := spec.obj("matchConstraints")
	if mc.obj("namespaceSelector").exists() || mc.obj("objectSelector").exists() {
		r.ns.restricted = append(r.ns.restricted, "to resources its selectors match")
	}
	if spec.has("matchConditions") {
		r.ns.restricted = append(r.ns.restricted, "to requests its matchConditions select")
	}
}

// ivpolAttestor reads one named attestor.
func (c *converter) ivpolAttestor(p *ivpol, a obj) {
	r := p.r
	name, _ := a.str("name")
	base := sanitizeName(p.d.name + "-" + name)
	if n := a.obj("notary"); n.exists() {
		certs, _ := n.obj("certs").str("value")
		if n.obj("certs").has("expression") {
			c.ruleNote(r, NotExpressible, n.at("certs"), "notary certificates from a CEL expression: signet reads them from the trust file")
			r.refused = true
			return
		}
		id, ok := c.notaryMember(r, n.pos(), base, certs)
		if !ok {
			r.refused = true
			return
		}
		p.attestors[name] = ivAttestor{ids: []string{id}, at: a.pos()}
		return
	}
	cs := a.obj("cosign")
	if !cs.exists() {
		c.ruleNote(r, NotExpressible, a.pos(), "attestor %q has neither cosign nor notary", name)
		r.refused = true
		return
	}
	ids, ok := c.ivpolCosign(p, cs, base)
	if !ok {
		r.refused = true
		return
	}
	p.attestors[name] = ivAttestor{ids: ids, at: a.pos()}
}

// ivpolCosign reads a cosign attestor's identities.
func (c *converter) ivpolCosign(p *ivpol, cs obj, base string) ([]string, bool) {
	r := p.r
	if tuf := cs.obj("tuf"); tuf.exists() && (tuf.has("mirror") || tuf.obj("root").exists()) {
		c.ruleNote(r, NotExpressible, cs.at("tuf"), "a TUF repository of its own: signet reads public-good's TUF, or a trusted_root.json; give the root with cosign.trustedRoot (the trusted_root.json it serves) and import again")
		return nil, false
	}
	if src := cs.obj("source"); src.exists() {
		if repo, _ := src.str("repository"); repo != "" {
			r.req.sigRepo = c.signatureRepository(r, repo, src.at("repository"))
		}
		if tp, _ := src.str("tagPrefix"); tp != "" {
			c.ruleNote(r, NotExpressible, src.at("tagPrefix"), "tagPrefix: signet reads cosign's own tag names")
			return nil, false
		}
	}
	if ann := cs.stringMap("annotations"); len(ann) > 0 {
		r.req.annotations = ann
		c.ruleNote(r, Equivalent, cs.at("annotations"), "annotations become signatureAnnotations")
	}
	ct := cs.obj("ctlog")
	parts := sigstoreParts{ignoreTlog: ct.boolean("insecureIgnoreTlog", false), ignoreSCT: ct.boolean("insecureIgnoreSCT", false)}
	parts.rekorURL, _ = ct.str("url")
	parts.rekorPubPEM, _ = ct.str("rekorPubKey")
	parts.ctlogPubPEM, _ = ct.str("ctLogPubKey")
	parts.tsaChainPEM, _ = ct.str("tsaCertChain")
	if tr := cs.obj("trustedRoot"); tr.exists() {
		v, _ := tr.str("value")
		if v == "" {
			c.ruleNote(r, NotExpressible, cs.at("trustedRoot"), "a trusted root from a CEL expression: signet reads it from a file")
			return nil, false
		}
		parts = sigstoreParts{ignoreTlog: parts.ignoreTlog, ignoreSCT: parts.ignoreSCT, rootJSON: []byte(v)}
	}
	switch {
	case cs.has("key"):
		k := cs.obj("key")
		if k.has("expression") {
			c.ruleNote(r, NotExpressible, k.at("expression"), "a key from a CEL expression: signet reads keys from the trust file")
			return nil, false
		}
		data, _ := k.str("data")
		kms, _ := k.str("kms")
		alg, _ := k.str("hashAlgorithm")
		return c.keyMembers(r, k.pos(), base, data, kms, alg, parts)
	case cs.has("keyless"):
		kl := cs.obj("keyless")
		roots, _ := kl.str("roots")
		parts.fulcioPEM = roots
		ext := kl.stringMap("additionalExtensions")
		var ids []string
		for i, idn := range kl.list("identities") {
			src := exactIdentity(idn)
			src.extensions, src.ignoredExtensions = ext, true
			if idn.has("subjectExpression") {
				c.ruleNote(r, NotExpressible, idn.at("subjectExpression"), "a subject computed at admission (subjectExpression): signet pins identities in the trust file")
				return nil, false
			}
			name := base
			if i > 0 {
				name = fmt.Sprintf("%s-%d", base, i+1)
			}
			id, ok := c.keylessMember(r, idn.pos(), name, src, parts)
			if !ok {
				return nil, false
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			c.ruleNote(r, NotExpressible, kl.pos(), "keyless without identities accepts any signer; signet pins the identity")
			return nil, false
		}
		return ids, true
	case cs.has("certificate"):
		cert := cs.obj("certificate")
		pemText, _ := cert.obj("cert").str("value")
		return c.certificateKey(r, cert.pos(), base, pemText, parts)
	}
	c.ruleNote(r, NotExpressible, cs.pos(), "a cosign attestor needs key, keyless or certificate")
	return nil, false
}

// certificateKey is a certificate attestor as the key it holds.
func (c *converter) certificateKey(r *sourceRule, at Pos, base, pemText string, parts sigstoreParts) ([]string, bool) {
	keyPEM, subject, err := certificatePublicKey(pemText)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		return nil, false
	}
	c.ruleNote(r, Equivalent, at, "a certificate attestor becomes a key identity with the certificate's public key (%s)", subject)
	return c.keyMembers(r, at, base, keyPEM, "", "", parts)
}

// ivpolAttestorIDs resolves "attestors.x" names to identities.
func (p *ivpol) attestorIDs(names []string) ([][]string, error) {
	var out [][]string
	for _, n := range names {
		a, ok := p.attestors[n]
		if !ok {
			return nil, fmt.Errorf("attestor %q is not declared (or was refused)", n)
		}
		out = append(out, a.ids)
	}
	return out, nil
}

func joinNames(names []string) string { return strings.Join(names, ", ") }
