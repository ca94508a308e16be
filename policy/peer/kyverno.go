package peer

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// Kyverno ClusterPolicy and Policy (kyverno.io/v1): each rule's
// verifyImages entries. Defaults as Kyverno's CRD has them:
// validationFailureAction Audit, mutateDigest, verifyDigest and required
// true, an attestor set's count all of its entries.

// verifyImagesFields are the fields of a verifyImages entry the importer
// knows; any other is reported, never dropped silently.
var verifyImagesFields = []string{"type", "image", "imageReferences", "skipImageReferences", "key", "roots", "subject", "issuer",
	"additionalExtensions", "attestors", "attestations", "annotations", "repository", "cosignOCI11", "mutateDigest", "verifyDigest",
	"validate", "required", "imageRegistryCredentials", "useCache", "failureAction"}

func (c *converter) kyvernoPolicy(d document) {
	spec := d.root.obj("spec")
	action := kyvernoAction(spec, "validationFailureAction", policy.ModeAudit)
	overrides := c.kyvernoOverrides(d, spec, action)
	if fp, _ := spec.str("failurePolicy"); fp == "Ignore" {
		c.note(Stricter, spec.at("failurePolicy"), d.String(), "failurePolicy: Ignore admits images when Kyverno cannot answer; signet fails closed")
	}
	for _, rule := range spec.list("rules") {
		name, _ := rule.str("name")
		ivs := rule.list("verifyImages")
		if len(ivs) == 0 {
			c.report.Ignored = append(c.report.Ignored, fmt.Sprintf("%s: %s rule %q: verifies no image", rule.pos(), d, name))
			continue
		}
		ns := c.kyvernoMatch(d, rule)
		ns.auditIn = overrides
		if rule.has("imageExtractors") {
			c.note(Stricter, rule.at("imageExtractors"), d.String(), "imageExtractors: signet verifies the images of every workload kind it knows (pods, their templates, CronJobs), whatever field holds them")
		}
		for j, iv := range ivs {
			r := &sourceRule{at: iv.pos(), source: d.String(), name: kyvernoRuleName(d, name, j, len(ivs)), ns: ns}
			r.req.mode = kyvernoAction(iv, "failureAction", action)
			c.kyvernoVerifyImages(r, iv)
			c.rules = append(c.rules, r)
		}
	}
}

func kyvernoRuleName(d document, rule string, j, n int) string {
	name := d.name
	if rule != "" {
		name += "/" + rule
	}
	if n > 1 {
		name += fmt.Sprintf("/%d", j)
	}
	return sanitizeName(name)
}

// kyvernoAction reads an Audit/Enforce action (any case); def when unset.
func kyvernoAction(o obj, key string, def policy.Mode) policy.Mode {
	v, _ := o.str(key)
	switch strings.ToLower(v) {
	case "enforce":
		return policy.ModeEnforce
	case "audit":
		return policy.ModeAudit
	}
	return def
}

// kyvernoOverrides reads validationFailureActionOverrides: the namespaces
// where an enforcing policy only audits. An override that enforces where
// the policy audits makes the rule enforcing everywhere (stricter).
func (c *converter) kyvernoOverrides(d document, spec obj, action policy.Mode) []string {
	var audit []string
	for _, o := range spec.list("validationFailureActionOverrides") {
		act := kyvernoAction(o, "action", "")
		nss, _ := o.strs("namespaces")
		if sel := o.obj("namespaceSelector"); sel.exists() {
			c.note(Stricter, o.at("namespaceSelector"), d.String(), "an override by namespaceSelector: signet selects audit namespaces by name (or enforcement.namespaces.auditLabels for the whole file); the override is not carried, the policy's action applies")
		}
		switch {
		case act == policy.ModeAudit && action == policy.ModeEnforce:
			audit = append(audit, nss...)
		case act == policy.ModeEnforce && action == policy.ModeAudit:
			c.note(Stricter, o.pos(), d.String(), "enforces in %s while the policy audits elsewhere: a trust-file rule's mode is one for every namespace, so signet enforces it everywhere; list the namespaces that should only audit under enforcement.namespaces.audit", strings.Join(nss, ", "))
		}
	}
	if len(audit) > 0 && action == policy.ModeAudit {
		return nil
	}
	return audit
}

// kyvernoMatch reads what a rule's match and exclude say of namespaces.
func (c *converter) kyvernoMatch(d document, rule obj) nsScope {
	var ns nsScope
	if d.kind == "Policy" {
		namespace, _ := d.root.obj("metadata").str("namespace")
		ns.restricted = append(ns.restricted, fmt.Sprintf("in namespace %q (a namespaced Policy)", namespace))
	}
	for _, sel := range resourceFilters(rule.obj("match")) {
		if nss, _ := sel.obj("resources").strs("namespaces"); len(nss) > 0 {
			ns.restricted = append(ns.restricted, "in namespaces "+strings.Join(nss, ", "))
		}
		if sel.obj("resources").obj("namespaceSelector").exists() || sel.obj("resources").obj("selector").exists() {
			ns.restricted = append(ns.restricted, "to resources a selector matches")
		}
		if sel.has("subjects") || sel.has("roles") || sel.has("clusterRoles") {
			ns.restricted = append(ns.restricted, "to requests of some users")
		}
	}
	for _, sel := range resourceFilters(rule.obj("exclude")) {
		res := sel.obj("resources")
		nss, _ := res.strs("namespaces")
		if len(res.keys()) == 1 && len(nss) > 0 && len(sel.keys()) == 1 {
			ns.excluded = append(ns.excluded, nss...)
			continue
		}
		ns.restricted = append(ns.restricted, "outside what its exclude block names")
	}
	return ns
}

// resourceFilters are the filters of a match or exclude block: its any
// and all entries, or the block itself (the older form).
func resourceFilters(block obj) []obj {
	if !block.exists() {
		return nil
	}
	out := append(block.list("any"), block.list("all")...)
	if len(out) == 0 && (block.has("resources") || block.has("subjects")) {
		out = append(out, block)
	}
	return out
}

// kyvernoVerifyImages reads one verifyImages entry into r.
func (c *converter) kyvernoVerifyImages(r *sourceRule, iv obj) {
	for _, f := range iv.unknown(verifyImagesFields...) {
		c.ruleNote(r, NotExpressible, iv.at(f), "unknown field %s: the importer does not know what it does, so it cannot say what signet should", f)
		r.refused = true
	}
	refs, nodes := iv.strs("imageReferences")
	if img, n := iv.str("image"); img != "" {
		refs, nodes = append(refs, img), append(nodes, n)
	}
	if len(refs) == 0 {
		c.ruleNote(r, NotExpressible, iv.pos(), "no imageReferences: the entry matches no image")
		r.refused = true
		return
	}
	for i, ref := range refs {
		c.scope(r, kyvernoWildcard, ref, iv.posOf(nodes[i], fmt.Sprintf("%s.imageReferences[%d]", iv.path, i)))
	}
	skips, skipNodes := iv.strs("skipImageReferences")
	for i, s := range skips {
		c.skip(r, kyvernoWildcard, s, iv.posOf(skipNodes[i], fmt.Sprintf("%s.skipImageReferences[%d]", iv.path, i)))
	}
	typ, _ := iv.str("type")
	switch typ {
	case "", "Cosign", "SigstoreBundle":
	case "Notary":
	default:
		c.ruleNote(r, NotExpressible, iv.at("type"), "type %q: the importer knows Cosign, SigstoreBundle and Notary", typ)
		r.refused = true
		return
	}
	c.kyvernoDigest(r, iv)
	c.kyvernoWhere(r, iv)
	if cl, ok := c.legacyClause(r, iv); !ok {
		r.refused = true
	} else if len(cl.ids) > 0 {
		r.req.clauses = append(r.req.clauses, cl)
	}
	for _, set := range iv.list("attestors") {
		cl, ok := c.attestorSet(r, set, typ == "Notary")
		if !ok {
			r.refused = true
			continue
		}
		r.req.clauses = append(r.req.clauses, cl)
	}
	cl, err := simplifyClauses(r.req.clauses)
	if err != nil {
		c.ruleNote(r, NotExpressible, iv.at("attestors"), "attestor sets: %v", err)
		r.refused = true
	}
	r.req.clauses = cl
	for _, a := range iv.list("attestations") {
		c.kyvernoAttestation(r, a, typ == "Notary")
	}
	if len(r.req.clauses) == 0 && len(r.req.attestations) == 0 && !r.refused {
		c.ruleNote(r, Equivalent, iv.pos(), "no attestors and no attestations: Kyverno checks nothing for these images; signet pins them without a signature (signature: optional)")
		r.req.none = true
	}
	if len(r.req.clauses) == 0 && len(r.req.attestations) > 0 {
		c.attestationsOnly(r, iv.at("attestations"))
	}
	if v, ok := iv.obj("validate").str("message"); ok != nil && v != "" || iv.obj("validate").has("deny") {
		c.ruleNote(r, NotExpressible, iv.at("validate"), "validate: conditions over the image's verified data; write them as conditions of an attestation")
		r.refused = true
	}
}

// legacyClause reads the pre-attestors form (key, or issuer, subject and
// roots, on the entry itself), as the one-entry set Kyverno makes of it.
func (c *converter) legacyClause(r *sourceRule, iv obj) (clause, bool) {
	key, _ := iv.str("key")
	issuer, _ := iv.str("issuer")
	subj, _ := iv.str("subject")
	switch {
	case key != "":
		ids, ok := c.keyMembers(r, iv.at("key"), r.identityBase(), key, "", "", sigstoreParts{})
		return clause{ids: ids, threshold: len(ids)}, ok
	case issuer != "" || subj != "":
		roots, _ := iv.str("roots")
		src := keylessSource{issuer: issuer, subject: subj, issuerKind: wildcard, subjectKind: wildcard, extensions: iv.stringMap("additionalExtensions")}
		id, ok := c.keylessMember(r, iv.at("subject"), r.identityBase(), src, sigstoreParts{fulcioPEM: roots})
		return clause{ids: []string{id}, threshold: 1}, ok
	}
	return clause{}, true
}

// digestNotes are the notes for mutateDigest, verifyDigest and required
// set to false, in a Kyverno dialect's own words: ClusterPolicy's
// verifyImages and ImageValidatingPolicy's validationConfigurations spell
// them alike and signet translates them alike (digestFlags).
type digestNotes struct{ mutate, verify, required string }

var clusterPolicyDigestNotes = digestNotes{
	mutate:   "mutateDigest: false becomes pin: false: the workload keeps its tag; signet still verifies the digest the tag names when it admits it",
	verify:   "verifyDigest: false lets Kyverno admit a tag without a digest; signet always decides about a digest (pinning it, or with pin: false verifying the one the tag names)",
	required: "required: false lets Kyverno's validating pass admit an image its mutating pass did not verify (an UPDATE that keeps the image); signet verifies every admission",
}

// digestFlags reads o's mutateDigest (false: the rule does not pin),
// verifyDigest and required (false: signet is stricter), each true when
// absent.
func (c *converter) digestFlags(r *sourceRule, o obj, n digestNotes) {
	if !o.boolean("mutateDigest", true) {
		r.req.noPin = true
		c.ruleNote(r, Equivalent, o.at("mutateDigest"), "%s", n.mutate)
	}
	if !o.boolean("verifyDigest", true) {
		c.ruleNote(r, Stricter, o.at("verifyDigest"), "%s", n.verify)
	}
	if !o.boolean("required", true) {
		c.ruleNote(r, Stricter, o.at("required"), "%s", n.required)
	}
}

// kyvernoDigest reads mutateDigest, verifyDigest, required, useCache and
// imageRegistryCredentials.
func (c *converter) kyvernoDigest(r *sourceRule, iv obj) {
	c.digestFlags(r, iv, clusterPolicyDigestNotes)
	if iv.boolean("useCache", true) {
		// Kyverno's cache keeps successes per reference string; signet's
		// keeps decisions per digest and rule meaning. No difference in
		// what is admitted.
	}
	if creds := iv.obj("imageRegistryCredentials"); creds.exists() {
		c.ruleNote(r, Equivalent, creds.pos(), "imageRegistryCredentials: signet reads registries with the pod's pull secrets and enforce's own credentials (enforce --registry-credentials, --registries for plain HTTP or private CAs), not per rule")
	}
}

// kyvernoWhere reads where signatures are, and the annotations they must carry.
func (c *converter) kyvernoWhere(r *sourceRule, iv obj) {
	if repo, _ := iv.str("repository"); repo != "" {
		r.req.sigRepo = c.signatureRepository(r, repo, iv.at("repository"))
	}
	if ann := iv.stringMap("annotations"); len(ann) > 0 {
		r.req.annotations = ann
		c.ruleNote(r, Equivalent, iv.at("annotations"), "annotations become signatureAnnotations: each must be in the signed payload of the signatures counted")
	}
	if iv.boolean("cosignOCI11", false) {
		c.ruleNote(r, Equivalent, iv.at("cosignOCI11"), "cosignOCI11: signet reads signatures both as tags and as OCI 1.1 referrers")
	}
}

// signatureRepository normalizes a peer's signature repository; an
// invalid one is refused.
func (c *converter) signatureRepository(r *sourceRule, repo string, at Pos) string {
	_, err := policy.New(policy.Spec{Identities: []policy.IdentitySpec{{Name: "k", Key: &policy.KeySpec{KMS: "awskms:///x"}}},
		Images: []policy.RuleSpec{{Match: []string{"**"}, SignedBy: []string{"k"}, SignatureRepository: repo}}})
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "signature repository %q: %v", repo, err)
		r.refused = true
		return ""
	}
	c.ruleNote(r, Equivalent, at, "signatures and attestations are read from %s (signatureRepository), as cosign's COSIGN_REPOSITORY", repo)
	return repo
}

// attestationsOnly: a source rule that checks attestations and no image
// signature; a trust-file rule that requires attestations also requires
// the image to be signed, by one of the attestations' signers.
func (c *converter) attestationsOnly(r *sourceRule, at Pos) {
	var ids []string
	for _, a := range r.req.attestations {
		ids = append(ids, a.SignedBy...)
	}
	if len(ids) == 0 {
		c.ruleNote(r, NotExpressible, at, "the attestations name no attestors: the peer then checks them without a signer, which signet never does")
		r.refused = true
		return
	}
	r.req.clauses = []clause{{ids: compact(ids), threshold: 1}}
	c.ruleNote(r, Stricter, at, "attestations without a signature check: signet also requires the image itself to be signed by one of their signers (%s)", joinNames(compact(ids)))
}
