package policy

// An identity may name its own Sigstore instance: a cluster that admits a
// vendor's images signed on public-good Sigstore and its own signed on a
// private deployment (or on GitHub's instance, for private repositories)
// trusts each root only for the identities that sign there. A certificate
// Fulcio of one instance issued never satisfies an identity of another:
// verify checks a signature against the root of the identity it is
// matched to.

// SigstoreOf is the Sigstore section that applies to id: its own, or the
// policy's.
func (p *Policy) SigstoreOf(id *Identity) Sigstore {
	if id != nil && id.Sigstore != nil {
		return *id.Sigstore
	}
	return p.Sigstore
}

// TrustedRoots lists the distinct trusted roots the policy's identities
// are checked against (the policy's first when one needs it), each once:
// what a verifier loads, and what the background verifier watches.
func (p *Policy) TrustedRoots() []Sigstore {
	var out []Sigstore
	seen := map[string]bool{}
	add := func(s Sigstore) {
		if k := s.rootKey(); !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	for _, id := range p.Identities {
		if id.Keyless != nil || id.Key != nil && id.Key.TransparencyLog == Required {
			add(p.SigstoreOf(id))
		}
	}
	return out
}

// rootKey identifies a trusted root: public-good, or a file by the digest
// of what was read.
func (s Sigstore) rootKey() string {
	if s.TrustedRootDigest != "" {
		return s.TrustedRoot + "@" + s.TrustedRootDigest
	}
	return s.TrustedRoot
}

// identitySigstore reads an identity's own sigstore section. A key
// identity takes only trustedRoot from it (its log requirement is
// key.transparencyLog, and a key has no certificate or timestamps of a
// Fulcio to require), and only when its key must be logged.
func (l *loader) identitySigstore(o *object, path string, id *Identity) {
	n := o.get("sigstore")
	if n == nil {
		return
	}
	s := l.sigstoreSection(n, path+".sigstore", l.p.Sigstore)
	switch {
	case id.Notation != nil:
		l.d.errorf(n, path+".sigstore", "a notation identity has no Sigstore root: its anchors are certificateAuthorities")
		return
	case id.Key != nil:
		sec := l.d.object(n, path+".sigstore")
		for _, k := range []string{"transparencyLog", "signedTimestamps", "certificateTransparency"} {
			if sec.has(k) {
				l.d.errorf(sec.keys[k], path+".sigstore."+k, "has no effect on a key identity (its log requirement is key.transparencyLog)")
			}
		}
		if id.Key.TransparencyLog != Required {
			l.d.errorf(n, path+".sigstore", "a key identity uses a trusted root only for its transparency log: set key.transparencyLog: required, or remove sigstore")
		}
	}
	if s == l.p.Sigstore {
		return // the policy's, spelt out: the same identity
	}
	id.Sigstore = &s
}

// normalSigstore is a Sigstore section as the policy hash sees it: a
// trusted root file by its content, not where it lives.
func normalSigstore(s Sigstore) Sigstore {
	if s.TrustedRootDigest != "" {
		s.TrustedRoot = ""
	}
	return s
}
