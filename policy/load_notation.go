package policy

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// notation loads a Notation identity: its trust anchors (parsed and
// checked here, so a bad certificate fails the load, not an admission),
// its subject pin and its timestamp and revocation settings.
func (l *loader) notation(n *yaml.Node, path string) *Notation {
	o := l.d.object(n, path)
	defer o.done()
	nt := &Notation{}
	nt.CertificateAuthorities = l.certificates(o, "certificateAuthorities", anchorCertificate)
	nt.SigningAuthorities = l.certificates(o, "signingAuthorities", anchorCertificate)
	nt.TimestampAuthorities = l.certificates(o, "timestampAuthorities", rootCertificate)
	if !o.has("certificateAuthorities") && !o.has("signingAuthorities") {
		l.d.errorf(n, path, "a notation identity needs trust anchors: certificateAuthorities (signing scheme notary.x509) or signingAuthorities (notary.x509.signingAuthority)")
	}
	nt.VerifyTimestamp = TimestampCheck(l.choice(o, "verifyTimestamp", string(TimestampAlways), string(TimestampAfterCertExpiry)))
	if o.has("verifyTimestamp") && len(nt.TimestampAuthorities) == 0 {
		l.d.errorf(o.get("verifyTimestamp"), path+".verifyTimestamp", "only meaningful with timestampAuthorities")
	}
	l.notationSubject(o, nt, n, path)
	nt.Revocation = l.revocation(o.get("revocation"), path+".revocation")
	return nt
}

// notationSubject reads the subject pin: exactly one of subject (a full
// DN) or subjectAttributes, naming at least the Notary Project's minimum
// attributes. An identity that accepts any subject under its anchors
// (Kyverno's notary attestor does, with trustedIdentities ["*"]) is
// refused like an issuer-wide keyless identity: every certificate the CA
// ever issued would sign for it.
func (l *loader) notationSubject(o *object, nt *Notation, n *yaml.Node, path string) {
	full, fullN := o.str("subject")
	attrsN := o.get("subjectAttributes")
	switch {
	case full != "" && attrsN != nil:
		l.d.errorf(attrsN, path+".subjectAttributes", "set subject (the full DN) or subjectAttributes, not both")
		return
	case full == "" && attrsN == nil:
		l.d.errorf(n, path, "accepts every subject its anchors certify; pin the signer with subject (full DN) or subjectAttributes (e.g. {C: US, ST: WA, O: Acme})")
		return
	case full != "":
		if anySubject(full) {
			l.d.errorf(fullN, path+".subject", "%q accepts every subject its anchors certify; pin the signer's DN, e.g. \"CN=release,O=Acme,ST=WA,C=US\"", full)
			return
		}
		dn, err := ParseDN(full)
		if err != nil {
			l.d.errorf(fullN, path+".subject", "%v", err)
			return
		}
		nt.Subject = l.requiredAttributes(dn, fullN, path+".subject")
	default:
		a := l.d.object(attrsN, path+".subjectAttributes")
		a.entries = true // attribute types are data, not fields
		dn := DN{}
		for k := range a.keys {
			v, vn := a.str(k)
			switch {
			case strings.TrimSpace(v) == "":
				l.d.errorf(vn, a.field(k), "empty value")
			case strings.Contains(v, "*"):
				l.d.errorf(vn, a.field(k), "%q: subject attributes are exact values, not patterns; pin the signer's value", v)
			}
			if err := dn.add(normalType(k), v); err != nil {
				l.d.errorf(vn, a.field(k), "%v", err)
			}
		}
		a.done()
		nt.SubjectAttributes = l.requiredAttributes(dn, attrsN, path+".subjectAttributes")
	}
}

// requiredAttributes refuses a pin without the Notary Project's minimum
// attributes (C, ST, O): the organization must be named.
func (l *loader) requiredAttributes(dn DN, n *yaml.Node, field string) DN {
	if missing := dn.Missing(); len(missing) > 0 {
		l.d.errorf(n, field, "names no %v: a pinned subject needs C, ST (or S) and O at least, as Notation's x509.subject does", missing)
		return nil
	}
	return dn
}

// certificates reads a list of trusted certificates, each {path: file}
// (one or more PEM certificates, resolved beside the trust file) or
// {certificate: inline PEM}, each checked by valid.
func (l *loader) certificates(o *object, key string, valid func(*x509.Certificate) error) []Certificate {
	var out []Certificate
	for i, item := range o.list(key) {
		field := fmt.Sprintf("%s[%d]", o.field(key), i)
		c := l.d.object(item, field)
		inline, inN := c.str("certificate")
		file, fileN := c.str("path")
		c.done()
		var data []byte
		node := item
		switch {
		case (inline == "") == (file == ""):
			l.d.errorf(item, field, "needs exactly one of path or certificate")
			continue
		case inline != "":
			data, node = []byte(inline), inN
		default:
			var err error
			if data, err = l.cfg.readFile(l.resolve(file)); err != nil {
				l.d.errorf(fileN, field+".path", "reading certificate: %v", err)
				continue
			}
			node = fileN
		}
		certs, err := ParseCertificates(data)
		if err != nil {
			l.d.errorf(node, field, "%v", err)
			continue
		}
		for _, cert := range certs {
			if err := valid(cert); err != nil {
				l.d.errorf(node, field, "%v", err)
				continue
			}
			out = append(out, newCertificate(cert))
		}
	}
	return out
}

// anchorCertificate is Notation's rule for a trust store certificate: a CA
// certificate, or a self-signed signing certificate.
func anchorCertificate(c *x509.Certificate) error {
	if !c.IsCA && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		return fmt.Errorf("certificate %q is neither a CA certificate nor self-signed", c.Subject.String())
	}
	return nil
}

// rootCertificate is Notation's rule for a timestamp authority: its root.
func rootCertificate(c *x509.Certificate) error {
	if !bytes.Equal(c.RawSubject, c.RawIssuer) || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		return fmt.Errorf("certificate %q is not a root (self-signed) certificate; timestampAuthorities holds TSA roots", c.Subject.String())
	}
	return nil
}

// ParseCertificates reads every PEM CERTIFICATE block of data, in order;
// anything else in it (a key, text that is not PEM) is an error. Trust
// anchors, and sign's certificate chains, are read with it.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			if len(out) == 0 {
				return nil, fmt.Errorf("no PEM certificate found")
			}
			if len(bytes.TrimSpace(rest)) > 0 {
				return nil, fmt.Errorf("text after the last PEM certificate is not a certificate")
			}
			return out, nil
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q is not a CERTIFICATE", b.Type)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate: %v", err)
		}
		out = append(out, c)
	}
}

// revocation reads a Notation identity's revocation settings.
func (l *loader) revocation(n *yaml.Node, path string) Revocation {
	o := l.d.object(n, path)
	defer o.done()
	r := Revocation{Timeout: DefaultRevocationTimeout,
		Check:       RevocationCheck(l.choice(o, "check", string(RevocationEnforce), string(RevocationSkip))),
		Unreachable: Unreachable(l.choice(o, "unreachable", string(UnreachableDeny), string(UnreachableAllow)))}
	if v, vn := o.str("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			l.d.errorf(vn, path+".timeout", "must be a duration such as 2s, got %q", v)
		case d <= 0 || d > MaxRevocationTimeout:
			l.d.errorf(vn, path+".timeout", "must be above 0 and at most %s (an admission decision has seconds), got %s", MaxRevocationTimeout, d)
		default:
			r.Timeout = d
		}
	}
	if r.Check == RevocationSkip && (o.has("unreachable") || o.has("timeout")) {
		l.d.errorf(n, path, "unreachable and timeout are only meaningful when revocation is checked (check: enforce)")
	}
	return r
}

// count is how many of bs are true.
func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// choice reads a field that takes one of values, the first being its
// default.
func (l *loader) choice(o *object, key string, values ...string) string {
	v, n := o.str(key)
	switch {
	case v == "":
		return values[0]
	case slices.Contains(values, v):
		return v
	}
	quoted := make([]string, len(values))
	for i, s := range values {
		quoted[i] = strconv.Quote(s)
	}
	l.d.errorf(n, o.field(key), "must be %s, got %q", strings.Join(quoted, " or "), v)
	return values[0]
}
