package peer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/signet-dev/signet/policy"
)

// Kyverno's attestors: a list of sets, every set must pass; in a set,
// count (default: all) of its entries. An entry is keys (one or more PEM
// keys, a KMS key), certificates, keyless, or a nested set.

var attestorFields = []string{"keys", "certificates", "keyless", "attestor", "annotations", "repository", "signatureAlgorithm"}

// attestorSet reads one set as a clause.
func (c *converter) attestorSet(r *sourceRule, set obj, notary bool) (clause, bool) {
	var ids []string
	ok := true
	for _, e := range set.list("entries") {
		got, eok := c.attestor(r, e, notary, r.identityBase())
		ok = ok && eok
		ids = append(ids, got...)
	}
	if !ok {
		return clause{}, false
	}
	if len(ids) == 0 {
		c.ruleNote(r, NotExpressible, set.pos(), "an attestor set without entries")
		return clause{}, false
	}
	n := len(ids)
	if count, set := set.integer("count"); set && count > 0 {
		n = count
	}
	if n > len(ids) {
		c.ruleNote(r, NotExpressible, set.at("count"), "count %d exceeds the %d attestors of the set", n, len(ids))
		return clause{}, false
	}
	if n > 1 {
		c.ruleNote(r, Equivalent, set.pos(), "%d of %d attestors become threshold: %d over signedBy", n, len(ids), n)
	}
	return clause{ids: ids, threshold: n}, true
}

// attestor reads one entry: the identities it is (several for a list of
// PEM keys, which Kyverno counts one by one).
func (c *converter) attestor(r *sourceRule, e obj, notary bool, base string) ([]string, bool) {
	for _, f := range e.unknown(attestorFields...) {
		c.ruleNote(r, NotExpressible, e.at(f), "unknown attestor field %s", f)
		return nil, false
	}
	if e.has("attestor") {
		c.ruleNote(r, NotExpressible, e.at("attestor"), "a nested attestor set: write its entries in the outer set (signet has one signer list and threshold per rule)")
		return nil, false
	}
	if !c.entryWhere(r, e) {
		return nil, false
	}
	if cert := e.obj("certificates"); cert.exists() && readAtAdmission(cert, "cert", "certChain") {
		c.ruleNote(r, NotExpressible, cert.pos(), "a certificate read at admission (a variable): signet reads certificates from the trust file; put the PEM in the policy and import again")
		return nil, false
	}
	switch {
	case notary && e.has("certificates"):
		cert := e.obj("certificates")
		pemText, _ := cert.str("cert")
		chain, _ := cert.str("certChain")
		id, ok := c.notaryMember(r, cert.pos(), base, pemText+"\n"+chain)
		return []string{id}, ok
	case e.has("keys"):
		k := e.obj("keys")
		pub, _ := k.str("publicKeys")
		kms, _ := k.str("kms")
		if k.has("secret") {
			c.ruleNote(r, NotExpressible, k.at("secret"), "a key in a Kubernetes Secret: signet reads keys from the trust file; put the PEM in publicKeys (or a file) and import again")
			return nil, false
		}
		alg, _ := k.str("signatureAlgorithm")
		if a, _ := e.str("signatureAlgorithm"); a != "" {
			alg = a
		}
		return c.keyMembers(r, k.pos(), base, pub, kms, alg, rekorParts(k))
	case e.has("certificates"):
		cert := e.obj("certificates")
		pemText, _ := cert.str("cert")
		if pemText == "" {
			c.ruleNote(r, NotExpressible, cert.pos(), "a certificate attestor with only a chain: signet needs the signing certificate (cert)")
			return nil, false
		}
		return c.certificateKey(r, cert.pos(), base, pemText, rekorParts(cert))
	case e.has("keyless"):
		k := e.obj("keyless")
		issuer, _ := k.str("issuer")
		subj, _ := k.str("subject")
		src := keylessSource{issuer: issuer, subject: subj, issuerKind: wildcard, subjectKind: wildcard, extensions: k.stringMap("additionalExtensions")}
		if re, _ := k.str("issuerRegExp"); re != "" {
			src.issuer, src.issuerKind = re, unanchoredRegexp
		}
		if re, _ := k.str("subjectRegExp"); re != "" {
			src.subject, src.subjectKind = re, unanchoredRegexp
		}
		roots, _ := k.str("roots")
		parts := rekorParts(k)
		parts.fulcioPEM = roots
		id, ok := c.keylessMember(r, k.pos(), base, src, parts)
		return []string{id}, ok
	}
	c.ruleNote(r, NotExpressible, e.pos(), "an attestor needs keys, certificates or keyless")
	return nil, false
}

// entryWhere reads an entry's own repository and annotations into the
// rule: signet has them per rule, so every entry must agree.
func (c *converter) entryWhere(r *sourceRule, e obj) bool {
	if repo, _ := e.str("repository"); repo != "" {
		if r.req.sigRepo != "" && r.req.sigRepo != repo {
			c.ruleNote(r, NotExpressible, e.at("repository"), "attestors read signatures from different repositories (%s, %s); signet reads one per rule", r.req.sigRepo, repo)
			return false
		}
		r.req.sigRepo = c.signatureRepository(r, repo, e.at("repository"))
	}
	if ann := e.stringMap("annotations"); len(ann) > 0 {
		if r.req.annotations != nil && !sameYAML(r.req.annotations, ann) {
			c.ruleNote(r, NotExpressible, e.at("annotations"), "attestors require different annotations; signet requires one set per rule")
			return false
		}
		r.req.annotations = ann
		c.ruleNote(r, Equivalent, e.at("annotations"), "annotations become signatureAnnotations: each must be in the signed payload of the signatures counted")
	}
	return true
}

// rekorParts reads an attestor's rekor and ctlog blocks.
func rekorParts(o obj) sigstoreParts {
	rekor, ctlog := o.obj("rekor"), o.obj("ctlog")
	var p sigstoreParts
	p.rekorURL, _ = rekor.str("url")
	p.rekorPubPEM, _ = rekor.str("pubkey")
	p.ignoreTlog = rekor.boolean("ignoreTlog", false)
	p.ctlogPubPEM, _ = ctlog.str("pubkey")
	p.tsaChainPEM, _ = ctlog.str("tsaCertChain")
	p.ignoreSCT = ctlog.boolean("ignoreSCT", false)
	return p
}

// keyMembers adds a key identity per PEM key (or the KMS key).
func (c *converter) keyMembers(r *sourceRule, at Pos, base, pemText, kms, alg string, parts sigstoreParts) ([]string, bool) {
	if strings.Contains(pemText, "{{") || strings.HasPrefix(pemText, "k8s://") || strings.HasPrefix(kms, "k8s://") {
		c.ruleNote(r, NotExpressible, at, "a key read at admission (a variable or a k8s:// Secret): signet reads keys from the trust file; put the PEM in the policy (or a file) and import again")
		return nil, false
	}
	if alg != "" && alg != "sha256" {
		c.ruleNote(r, Stricter, at, "signatureAlgorithm %s: signet verifies with the key's default digest (SHA-256 for P-256 keys); signatures hashed otherwise are refused", alg)
	}
	tlog := policy.Optional
	if !parts.ignoreTlog {
		tlog = policy.Required
	}
	var sig *policy.SigstoreSpec
	if tlog == policy.Required && parts.custom() {
		var err error
		if sig, err = c.sigstore(base, parts); err != nil {
			c.ruleNote(r, NotExpressible, at, "%v", err)
			return nil, false
		}
		sig.TransparencyLog, sig.CertificateTransparency = "", ""
	}
	var keys []string
	if kms != "" {
		keys = append(keys, "")
	}
	keys = append(keys, splitPEM(pemText)...)
	if len(keys) == 0 {
		c.ruleNote(r, NotExpressible, at, "a keys attestor without publicKeys or kms")
		return nil, false
	}
	var ids []string
	for i, k := range keys {
		spec := policy.KeySpec{PublicKey: k, TransparencyLog: tlog}
		if k == "" {
			spec.KMS = kms
		}
		name := base
		if len(keys) > 1 {
			name = fmt.Sprintf("%s-%d", base, i+1)
		}
		id, ok := c.addIdentity(r, at, name, policy.IdentitySpec{Key: &spec, Sigstore: sig})
		if !ok {
			return nil, false
		}
		ids = append(ids, id)
	}
	if tlog == policy.Required {
		c.ruleNote(r, Equivalent, at, "the key's signatures must be in the transparency log (key.transparencyLog: required), as Kyverno checks unless rekor.ignoreTlog")
	}
	return ids, true
}

// splitPEM splits PEM text into its blocks.
func splitPEM(text string) []string {
	var out []string
	for {
		start := strings.Index(text, "-----BEGIN")
		if start < 0 {
			return out
		}
		end := strings.Index(text[start:], "-----END")
		if end < 0 {
			return out
		}
		stop := strings.Index(text[start+end+8:], "-----")
		if stop < 0 {
			return out
		}
		stop += start + end + 8 + 5
		out = append(out, strings.TrimSpace(text[start:stop])+"\n")
		text = text[stop:]
	}
}

// keylessMember adds a keyless identity.
func (c *converter) keylessMember(r *sourceRule, at Pos, base string, src keylessSource, parts sigstoreParts) (string, bool) {
	k, notes := keyless(src)
	failed := false
	for _, n := range notes {
		c.ruleNote(r, n.class, at, "%s", n.message)
		failed = failed || n.class == NotExpressible
	}
	if failed || k == nil {
		return "", false
	}
	sig, err := c.sigstore(base, parts)
	if err != nil {
		c.ruleNote(r, NotExpressible, at, "%v", err)
		return "", false
	}
	if parts.untimed() {
		c.ruleNote(r, Stricter, at, "%s", untimedKeyless)
	}
	return c.addIdentity(r, at, base, policy.IdentitySpec{Keyless: k, Sigstore: sig})
}

// notaryMember adds a notation identity for certificates that Kyverno
// trusts for any subject: refused unless Options.NotarySubjects pins it.
func (c *converter) notaryMember(r *sourceRule, at Pos, base, certPEM string) (string, bool) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(certPEM))
	if err != nil || len(certs) == 0 {
		c.ruleNote(r, NotExpressible, at, "notary certificates: not PEM certificates (%v)", err)
		return "", false
	}
	name := sanitizeName(base)
	subject := c.opts.NotarySubjects[name]
	if subject == "" {
		c.ruleNote(r, NotExpressible, at, "a notary attestor trusts any subject its certificates (%s) issued; signet refuses \"any subject\": pin the signer's subject with --notation-subject %s=\"CN=...,O=...,ST=...,C=...\" and import again", certs[len(certs)-1].Subject, name)
		return "", false
	}
	n := &policy.NotationSpec{Subject: subject, CertificateAuthorities: []policy.CertificateSpec{{Certificate: certPEM}}}
	c.ruleNote(r, Stricter, at, "a notary attestor trusts any subject under its certificates; identity %s accepts only subject %q (--notation-subject)", name, subject)
	return c.addIdentity(r, at, name, policy.IdentitySpec{Notation: n})
}

// addIdentity validates id as the trust file loader will, and adds it.
func (c *converter) addIdentity(r *sourceRule, at Pos, name string, id policy.IdentitySpec) (string, bool) {
	id.Name = "x"
	_, err := policy.New(policy.Spec{Identities: []policy.IdentitySpec{id}, Images: []policy.RuleSpec{{Match: []string{"**"}, SignedBy: []string{"x"}}}},
		policy.WithReadFile(c.readFile))
	if le := (*policy.LoadError)(nil); errors.As(err, &le) {
		for _, fe := range le.Errors {
			c.ruleNote(r, NotExpressible, at, "signet refuses the identity: %s", strings.TrimPrefix(fe.Field+": "+fe.Msg, ": "))
		}
		return "", false
	} else if err != nil {
		c.ruleNote(r, NotExpressible, at, "signet refuses the identity: %v", err)
		return "", false
	}
	return c.identity(name, id), true
}

// readFile serves the files the import writes (trusted roots) to the
// loader that checks identities.
func (c *converter) readFile(p string) ([]byte, error) {
	for name, data := range c.files {
		if strings.HasSuffix(p, name) {
			return data, nil
		}
	}
	return nil, os.ErrNotExist
}

// certificatePublicKey is the PEM public key of the first certificate in
// pemText, and the certificate's subject.
func certificatePublicKey(pemText string) (string, string, error) {
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(pemText))
	if err != nil || len(certs) == 0 {
		return "", "", fmt.Errorf("not a PEM certificate: %v", err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(certs[0].PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("the certificate's key: %w", err)
	}
	return string(pub), certs[0].Subject.String(), nil
}

// readAtAdmission says whether any of o's fields is a Kyverno variable
// ({{ ... }}), resolved only when a request arrives.
func readAtAdmission(o obj, fields ...string) bool {
	for _, f := range fields {
		if v, _ := o.str(f); strings.Contains(v, "{{") {
			return true
		}
	}
	return false
}
