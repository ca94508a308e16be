package verify

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// checkPlatforms implements platforms: all. The digest a workload names is
// always verified (checkDigest); when that digest is an index, this also
// requires every platform child to carry a signature the rule accepts, so
// a node of any architecture runs signed bits. Attestation manifests
// (buildkit's unknown/unknown entries) are not platforms and are skipped.
func (v *Verifier) checkPlatforms(ctx context.Context, d *Decision, digest name.Digest, p *policy.Policy, r *policy.Rule) {
	desc, err := remote.Get(digest, v.remoteOpts(ctx)...)
	if err != nil {
		d.denyf("could not read %s to check its platforms: %v", digest, err)
		d.Transient = true
		return
	}
	if !desc.MediaType.IsIndex() {
		return
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		d.denyf("reading index %s: %v", digest, err)
		return
	}
	im, err := idx.IndexManifest()
	if err != nil {
		d.denyf("reading index %s: %v", digest, err)
		return
	}
	for _, child := range im.Manifests {
		if isAttestationManifest(child) {
			continue
		}
		cd := digest.Context().Digest(child.Digest.String())
		sub := &Decision{}
		found, err := ocisig.Fetch(ctx, cd, v.remoteOpts(ctx)...)
		if err != nil {
			sub.denyf("could not read signatures: %v", err)
			d.Transient = true
		} else {
			ev := &evaluation{v: v, p: p, rule: r, digest: cd, d: sub}
			if err := ev.classify(found); err == nil {
				ev.signatures(ctx)
			}
		}
		pr := PlatformResult{Platform: platformString(child.Platform), Digest: child.Digest.String(), Signed: len(sub.Reasons) == 0}
		if !pr.Signed {
			pr.Reason = sub.Reasons[0]
			d.denyf("platform %s (%s) of index %s is not signed as rule %q requires (platforms: all): %s",
				pr.Platform, pr.Digest, digest.DigestStr(), r.Name, pr.Reason)
		}
		d.Platforms = append(d.Platforms, pr)
	}
}

func isAttestationManifest(desc v1.Descriptor) bool {
	if desc.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return desc.Platform != nil && desc.Platform.OS == "unknown" && desc.Platform.Architecture == "unknown"
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	return p.String()
}
