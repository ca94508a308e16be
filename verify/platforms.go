package verify

import (
	"bytes"
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
)

// MaxPlatforms is how many platform manifests of one index `platforms:
// all` checks. Real multi-arch images list a handful (Docker's official
// images about ten, with as many attestation manifests, which do not count);
// an index listing more is denied with its count before any child is read,
// so a hostile index cannot cost thousands of registry requests.
const MaxPlatforms = 32

// platformParallel is how many children are checked at once.
const platformParallel = 4

// checkPlatforms implements platforms: all. The digest a workload names is
// always verified (checkDigest); when that digest is an index, this also
// requires every platform child to carry a signature the rule accepts, so
// a node of any architecture runs signed bits. Attestation manifests
// (buildkit's unknown/unknown entries) are not platforms and are skipped.
func (v *Verifier) checkPlatforms(ctx context.Context, d *Decision, digest name.Digest, p *policy.Policy, r *policy.Rule) {
	im, err := v.index(ctx, digest)
	if err != nil {
		d.denyf("could not read %s to check its platforms: %v", digest, err)
		d.Transient = true
		return
	}
	if im == nil {
		return // an image, not an index
	}
	var children []v1.Descriptor
	for _, child := range im.Manifests {
		if !isAttestationManifest(child) {
			children = append(children, child)
		}
	}
	if len(children) > MaxPlatforms {
		d.denyf("index %s lists %d platform manifests; rule %q requires every platform to be signed (platforms: all), "+
			"and signet checks at most %d: split the index, or drop platforms: all from the rule", shortDigest(digest), len(children), r.Name, MaxPlatforms)
		return
	}
	results := make([]PlatformResult, len(children))
	transient := make([]bool, len(children))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(platformParallel)
	for i, child := range children {
		g.Go(func() error {
			results[i], transient[i] = v.checkPlatform(gctx, digest, child, p, r)
			return nil
		})
	}
	_ = g.Wait() // checkPlatform reports failures in its result
	for i, pr := range results {
		d.Transient = d.Transient || transient[i]
		if !pr.Signed {
			d.denyf("platform %s (%s) of index %s is not signed as rule %q requires (platforms: all): %s",
				pr.Platform, pr.Digest, digest.DigestStr(), r.Name, pr.Reason)
		}
		d.Platforms = append(d.Platforms, pr)
	}
}

// index returns the index manifest digest names, or nil when it is an image.
func (v *Verifier) index(ctx context.Context, digest name.Digest) (*v1.IndexManifest, error) {
	opts, err := v.remoteOpts(ctx, digest.Context())
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(digest, opts...)
	if err != nil {
		return nil, err
	}
	if !desc.MediaType.IsIndex() {
		return nil, nil
	}
	return v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
}

// checkPlatform checks one child; transient reports a registry failure.
func (v *Verifier) checkPlatform(ctx context.Context, digest name.Digest, child v1.Descriptor, p *policy.Policy, r *policy.Rule) (PlatformResult, bool) {
	cd := digest.Context().Digest(child.Digest.String())
	sub := &Decision{}
	found, err := v.fetch(ctx, cd, ocisig.Want{})
	transient := false
	if err != nil {
		sub.denyFetch(cd, err)
		transient = sub.Transient
	} else {
		ev := &evaluation{v: v, p: p, rule: r, digest: cd, d: sub}
		if err := ev.classify(found); err == nil {
			ev.signatures(ctx)
		}
	}
	pr := PlatformResult{Platform: platformString(child.Platform), Digest: child.Digest.String(), Signed: len(sub.Reasons) == 0}
	if !pr.Signed {
		pr.Reason = sub.Reasons[0]
	}
	return pr, transient
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
