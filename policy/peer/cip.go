package peer

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// policy-controller's ClusterImagePolicy (policy.sigstore.dev v1alpha1,
// v1beta1): images by glob, authorities of which any one must pass (a
// key, keyless identities, or static pass/fail), each with optional
// attestations; every policy that matches an image must pass, and an
// image none matches is denied (the default no-match-policy). TrustRoot
// objects name private Sigstore instances (trustRootRef).

var cipSpecFields = []string{"images", "authorities", "policy", "mode", "match"}
var authorityFields = []string{"name", "key", "keyless", "static", "source", "ctlog", "attestations", "rfc3161timestamp", "signatureFormat"}

func (c *converter) clusterImagePolicy(d document) {
	spec := d.root.obj("spec")
	r := c.policyRule(d, spec, cipSpecFields)
	if mode, _ := spec.str("mode"); mode == "warn" {
		r.req.mode = policy.ModeAudit
		c.ruleNote(r, Equivalent, spec.at("mode"), "mode: warn becomes the rule's mode: audit (admitted, reported)")
	}
	if spec.has("match") {
		r.ns.restricted = append(r.ns.restricted, "to the resource kinds (and labels) its match names")
	}
	if spec.has("policy") {
		c.ruleNote(r, Weaker, spec.at("policy"), "a policy over all authorities' results (CUE or Rego) has no trust-file counterpart; without it any authority that passes admits")
	}
	for _, img := range spec.list("images") {
		g, n := img.str("glob")
		c.scope(r, pcGlob, g, img.posOf(n, img.path+".glob"))
	}
	var ids []string
	var atts []policy.AttestationSpec
	var allAtts [][]policy.AttestationSpec
	attsFrom := 0
	for _, a := range spec.list("authorities") {
		got, aatts, kind := c.authority(r, a)
		switch kind {
		case "refused":
			r.refused = true
		case "pass":
			r.req.none = true
			c.ruleNote(r, Equivalent, a.at("static"), "static: pass admits every image the policy matches: a pin-only rule (signature: optional)")
		case "fail":
			msg, _ := a.obj("static").str("message")
			if msg == "" {
				msg = fmt.Sprintf("ClusterImagePolicy %s refuses these images", d.name)
			}
			r.req.deny = msg
			c.ruleNote(r, Equivalent, a.at("static"), "static: fail denies every image the policy matches: a deny rule")
		default:
			ids = append(ids, got...)
			if len(aatts) > 0 {
				atts, attsFrom = aatts, attsFrom+1
				allAtts = append(allAtts, aatts)
			}
		}
	}
	n := len(spec.list("authorities"))
	if n > 1 && r.req.none && r.req.deny == "" {
		c.ruleNote(r, Equivalent, spec.at("authorities"), "one authority is static: pass, so any image the policy matches passes")
		ids, atts = nil, nil
	}
	if attsFrom > 0 && n > 1 {
		if attsFrom < n {
			c.ruleNote(r, NotExpressible, spec.at("authorities"), "authorities are alternatives (any one passes) and only some require attestations: a trust-file rule requires its attestations whoever signed; split the policy")
			r.refused = true
		} else {
			c.ruleNote(r, Weaker, spec.at("authorities"), "every authority requires attestations of its own: signet accepts the attestations by any of the authorities' identities, not only the one whose signature passed")
			atts = c.mergeAttestations(atts, allAtts)
		}
	}
	if len(ids) > 0 && r.req.deny == "" {
		r.req.none = false
		r.req.clauses = []clause{{ids: compact(ids), threshold: 1}}
		r.req.attestations = atts
		if n > 1 {
			c.ruleNote(r, Equivalent, spec.at("authorities"), "authorities are alternatives: signedBy %s, threshold 1", joinNames(compact(ids)))
		}
	}
	if len(spec.list("authorities")) == 0 {
		c.ruleNote(r, NotExpressible, spec.pos(), "no authorities: the policy admits nothing it matches")
		r.refused = true
	}
}

// authority reads one authority: its identities and attestations, or
// "pass"/"fail" for a static one, "refused" when it cannot be read.
func (c *converter) authority(r *sourceRule, a obj) ([]string, []policy.AttestationSpec, string) {
	for _, f := range a.unknown(authorityFields...) {
		c.ruleNote(r, NotExpressible, a.at(f), "unknown authority field %s", f)
		return nil, nil, "refused"
	}
	name, _ := a.str("name")
	if name == "" {
		name = authorityName(a.path) // as policy-controller names it
	}
	base := sanitizeName(r.name + "-" + name)
	if st := a.obj("static"); st.exists() {
		action, _ := st.str("action")
		if action == "pass" || action == "fail" {
			return nil, nil, action
		}
		c.ruleNote(r, NotExpressible, st.at("action"), "static action %q: policy-controller knows pass and fail", action)
		return nil, nil, "refused"
	}
	for i, s := range a.list("source") {
		if i > 0 {
			c.ruleNote(r, NotExpressible, s.pos(), "several signature sources: signet reads one repository per rule")
			return nil, nil, "refused"
		}
		if oci, _ := s.str("oci"); oci != "" {
			r.req.sigRepo = c.signatureRepository(r, oci, s.at("oci"))
		}
		if s.has("tagPrefix") {
			c.ruleNote(r, NotExpressible, s.at("tagPrefix"), "tagPrefix: signet reads cosign's own tag names")
			return nil, nil, "refused"
		}
		if s.has("signaturePullSecrets") {
			c.ruleNote(r, Equivalent, s.at("signaturePullSecrets"), "signaturePullSecrets: signet reads the signature repository with the pod's pull secrets and enforce's own credentials")
		}
	}
	parts, ok := c.pcSigstore(r, a)
	if !ok {
		return nil, nil, "refused"
	}
	var ids []string
	switch {
	case a.has("key"):
		k := a.obj("key")
		if k.has("secretRef") {
			c.ruleNote(r, NotExpressible, k.at("secretRef"), "a key in a Kubernetes Secret: put its PEM in key.data and import again")
			return nil, nil, "refused"
		}
		data, _ := k.str("data")
		kms, _ := k.str("kms")
		alg, _ := k.str("hashAlgorithm")
		got, ok := c.keyMembers(r, k.pos(), base, data, kms, alg, parts)
		if !ok {
			return nil, nil, "refused"
		}
		ids = got
	case a.has("keyless"):
		kl := a.obj("keyless")
		if kl.has("ca-cert") {
			ca := kl.obj("ca-cert")
			pemText, _ := ca.str("data")
			if pemText == "" {
				c.ruleNote(r, NotExpressible, kl.at("ca-cert"), "ca-cert from a Secret or KMS: put its PEM in ca-cert.data")
				return nil, nil, "refused"
			}
			parts.fulcioPEM = pemText
		}
		if kl.boolean("insecureIgnoreSCT", false) {
			parts.ignoreSCT = true
		}
		for i, idn := range kl.list("identities") {
			src := exactIdentity(idn)
			nm := base
			if i > 0 {
				nm = fmt.Sprintf("%s-%d", base, i+1)
			}
			id, ok := c.keylessMember(r, idn.pos(), nm, src, parts)
			if !ok {
				return nil, nil, "refused"
			}
			ids = append(ids, id)
		}
		if len(ids) == 0 {
			c.ruleNote(r, NotExpressible, kl.pos(), "keyless without identities accepts any signer; signet pins the identity")
			return nil, nil, "refused"
		}
	default:
		c.ruleNote(r, NotExpressible, a.pos(), "an authority needs key, keyless or static")
		return nil, nil, "refused"
	}
	var atts []policy.AttestationSpec
	for _, at := range a.list("attestations") {
		typ, _ := at.str("predicateType")
		nm, _ := at.str("name")
		spec := policy.AttestationSpec{Name: sanitizeName(nm), Type: pcPredicateType(typ), SignedBy: ids}
		if p := at.obj("policy"); p.exists() {
			kind, _ := p.str("type")
			c.ruleNote(r, Weaker, at.at("policy"), "attestation %s's %s policy is not translated: write it as CEL conditions (docs/trust-file.md, From Kyverno and policy-controller); without it any %s attestation by the authority passes", nm, kind, typ)
		}
		atts = append(atts, spec)
		c.ruleNote(r, Equivalent, at.pos(), "attestation %s (%s) becomes an attestations entry signed by the authority", nm, typ)
	}
	return ids, atts, "identities"
}

// pcPredicateType maps policy-controller's short predicate names.
func pcPredicateType(t string) string {
	switch t {
	case "custom":
		return "https://cosign.sigstore.dev/attestation/v1"
	case "slsaprovenance", "slsaprovenance02":
		return policy.SLSAProvenanceV02
	case "slsaprovenance1":
		return policy.SLSAProvenanceV1
	case "spdx", "spdxjson":
		return "https://spdx.dev/Document"
	case "cyclonedx":
		return "https://cyclonedx.org/bom"
	case "vuln":
		return "https://cosign.sigstore.dev/attestation/vuln/v1"
	case "link":
		return "https://in-toto.io/Link/v1"
	}
	return t
}

// pcSigstore reads an authority's Sigstore instance: public-good, a
// TrustRoot (trustRootRef), a custom Rekor (ctlog.url) and an RFC 3161
// TSA.
func (c *converter) pcSigstore(r *sourceRule, a obj) (sigstoreParts, bool) {
	var parts sigstoreParts
	ref, _ := a.obj("keyless").str("trustRootRef")
	if ref == "" {
		ref, _ = a.obj("ctlog").str("trustRootRef")
	}
	if ref == "" {
		ref, _ = a.obj("rfc3161timestamp").str("trustRootRef")
	}
	if ref != "" {
		root, ok := c.trustRoots[ref]
		if !ok {
			c.ruleNote(r, NotExpressible, a.pos(), "trustRootRef %q: no TrustRoot of that name among the imported files (import it with them)", ref)
			return parts, false
		}
		if root == nil {
			c.ruleNote(r, NotExpressible, a.pos(), "trustRootRef %q names a TrustRoot the importer refused (see it above)", ref)
			return parts, false
		}
		parts.rootJSON = root
	}
	ct := a.obj("ctlog")
	if a.has("key") && !ct.exists() {
		parts.ignoreTlog = true // policy-controller checks no log for a key without ctlog
	}
	if url, _ := ct.str("url"); url != "" && url != PublicRekor && ref == "" {
		c.ruleNote(r, NotExpressible, ct.at("url"), "Rekor %s without a TrustRoot: signet verifies log entries offline with the log's key; give it in a TrustRoot (trustRootRef)", url)
		return parts, false
	}
	if a.obj("rfc3161timestamp").exists() {
		parts.ignoreTlog, parts.requireTSA = true, true
		c.ruleNote(r, Equivalent, a.at("rfc3161timestamp"), "rfc3161timestamp: a signed timestamp is required instead of a log entry (signedTimestamps: required, transparencyLog: optional)")
	}
	return parts, true
}

// trustRoot reads a TrustRoot's sigstoreKeys as a trusted_root.json.
func (c *converter) trustRoot(d document) {
	spec := d.root.obj("spec")
	at := d.root.pos()
	if c.trustRoots == nil {
		c.trustRoots = map[string][]byte{}
	}
	c.trustRoots[d.name] = nil
	if !spec.has("sigstoreKeys") {
		what := "remote"
		if spec.has("repository") {
			what = "repository"
		}
		c.note(NotExpressible, at, d.String(), "a TrustRoot from a TUF %s: signet verifies offline against a trusted_root.json; fetch the one the TUF repository serves and write it as sigstoreKeys (or name it in the trust file)", what)
		return
	}
	data, err := sigstoreKeysJSON(spec.obj("sigstoreKeys"))
	if err != nil {
		c.note(NotExpressible, spec.at("sigstoreKeys"), d.String(), "sigstoreKeys: %v", err)
		return
	}
	c.trustRoots[d.name] = data
	c.note(Equivalent, at, d.String(), "TrustRoot %s becomes a trusted_root.json for the identities that reference it", d.name)
}

// sigstoreKeysJSON turns a TrustRoot's sigstoreKeys (base64 PEM fields)
// into a trusted_root.json.
func sigstoreKeysJSON(sk obj) ([]byte, error) {
	decode := func(o obj, key string) (string, error) {
		v, _ := o.str(key)
		if v == "" {
			return "", nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil {
			return "", fmt.Errorf("%s: not base64: %w", key, err)
		}
		return string(b), nil
	}
	// only decodes field of list's one item ("" when the list is empty);
	// a second item is refused with several.
	only := func(list, field, several string) (item obj, pem string, err error) {
		for i, o := range sk.list(list) {
			if i > 0 {
				return obj{}, "", errors.New(several)
			}
			if pem, err = decode(o, field); err != nil {
				return obj{}, "", err
			}
			item = o
		}
		return item, pem, nil
	}
	p := sigstoreParts{own: true}
	var tl obj
	var err error
	if _, p.fulcioPEM, err = only("certificateAuthorities", "certChain", "several certificate authorities: the importer writes one per root (split the TrustRoot)"); err != nil {
		return nil, err
	}
	if tl, p.rekorPubPEM, err = only("tLogs", "publicKey", "several transparency logs: the importer writes one per root"); err != nil {
		return nil, err
	}
	p.rekorURL, _ = tl.str("baseURL")
	if _, p.ctlogPubPEM, err = only("ctLogs", "publicKey", "several CT logs: the importer writes one per root"); err != nil {
		return nil, err
	}
	if _, p.tsaChainPEM, err = only("timestampAuthorities", "certChain", "several timestamp authorities: the importer writes one per root"); err != nil {
		return nil, err
	}
	if p.fulcioPEM == "" && p.rekorPubPEM == "" && p.tsaChainPEM == "" {
		return nil, fmt.Errorf("names no certificate authority, log or timestamp authority")
	}
	return trustedRootJSON(p)
}

// mergeAttestations writes the attestations every authority requires as
// one list, each signed by any of the authorities that require its type.
func (c *converter) mergeAttestations(first []policy.AttestationSpec, all [][]policy.AttestationSpec) []policy.AttestationSpec {
	out := slices.Clone(first)
	for _, list := range all[1:] {
		for _, a := range list {
			i := slices.IndexFunc(out, func(o policy.AttestationSpec) bool { return o.Type == a.Type })
			if i < 0 {
				out = append(out, a)
				continue
			}
			out[i].SignedBy = compact(append(out[i].SignedBy, a.SignedBy...))
		}
	}
	return out
}

// authorityName is policy-controller's name for an unnamed authority:
// authority-<index> (spec.authorities[1] is authority-1).
func authorityName(path string) string {
	i := strings.LastIndexByte(path, '[')
	if i < 0 || !strings.HasSuffix(path, "]") {
		return "authority"
	}
	return "authority-" + path[i+1:len(path)-1]
}
