package verify

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// MaxPlatforms is how many platform manifests of one index `platforms:
// all` checks. Real multi-arch images list a handful (Docker's official
// images about ten, with as many attestation manifests, which do not count);
// an index listing more is denied with its count before any child is read,
// so a hostile index cannot cost thousands of registry requests.
const MaxPlatforms = 32

// platforms implements platforms: all. The digest a workload names is
// always verified (signatures); when that digest is an index, this also
// requires every platform child to carry a signature the rule accepts, so
// a node of any architecture runs signed bits. Attestation manifests
// (buildkit's unknown/unknown entries) are not platforms and are skipped.
func (e *evaluation) platforms() {
	pe, r := e.ev.platforms, e.rule
	switch {
	case pe.err != nil:
		e.d.deny(NewReason(CodeRegistryUnavailable, "could not read %s to check its platforms: %v", e.digest, pe.err))
		e.d.Transient = true
		return
	case !pe.index:
		return // an image, not an index
	case len(pe.children) > MaxPlatforms:
		e.d.deny(NewReason(CodeTooManyPlatforms, "index %s lists %d platform manifests; rule %q requires every platform to be signed (platforms: all), "+
			"and signet checks at most %d", shortDigest(e.digest), len(pe.children), r.Name, MaxPlatforms).
			WithHint("split the index, or drop platforms: all from the rule"))
		return
	}
	for _, child := range pe.children {
		pr := e.platform(child)
		if !pr.Signed {
			e.d.deny(NewReason(CodePlatformUnsigned, "platform %s (%s) of index %s is not signed as rule %q requires (platforms: all): %s",
				pr.Platform, pr.Digest, e.digest.DigestStr(), r.Name, pr.Reason))
		}
		e.d.Platforms = append(e.d.Platforms, pr)
	}
}

// platform checks the signatures of one child.
func (e *evaluation) platform(child platformChild) PlatformResult {
	cd := e.digest.Context().Digest(child.desc.Digest.String())
	sub := &Decision{}
	if child.err != nil {
		r, transient := fetchReason(cd, child.err)
		sub.deny(r)
		e.d.Transient = e.d.Transient || transient
	} else {
		ce := &evaluation{p: e.p, rule: e.rule, digest: cd, ev: child.ev, trust: e.trust, d: sub}
		sub.Rejected = child.ev.rejected
		ce.signatures()
		ce.unread()
		e.d.Transient = e.d.Transient || sub.Transient
	}
	pr := PlatformResult{Platform: platformString(child.desc.Platform), Digest: child.desc.Digest.String(), Signed: len(sub.Reasons) == 0}
	if !pr.Signed {
		pr.Reason = sub.Reasons[0].String()
	}
	return pr
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}
