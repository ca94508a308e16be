package testworld

import (
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
)

// DefaultPolicy is the world's trust policy. Rules are ordered from most to
// least specific; REGISTRY is replaced by the world's registry host.
const DefaultPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: trusted_root.json
  transparencyLog: optional          # present entries are still verified
  certificateTransparency: required
identities:
  - name: app-release
    keyless:
      issuer: https://token.actions.githubusercontent.com
      repository: acme/app
      workflow: .github/workflows/release.yml
      refs: [refs/heads/main, refs/tags/v*]
  - name: app-any-ref                # the same workflow on any branch
    keyless:
      issuer: https://token.actions.githubusercontent.com
      repository: acme/app
      workflow: .github/workflows/release.yml
      refs: [refs/heads/*]
  - name: platform-gitlab
    keyless: {issuer: https://gitlab.com, project: acme/platform, refs: [refs/heads/main]}
  - name: release-key
    key: {path: cosign.pub}
images:
  - name: provenance-required
    match: [REGISTRY/acme/prov/**]
    signedBy: [app-release]
    provenance:
      sourceMatchesSigner: true
      sourceRefs: [refs/heads/main]
      conditions:
        - name: github-workflow-build
          expression: predicate.buildDefinition.buildType == "https://actions.github.io/buildtypes/workflow/v1"
  - name: two-signers
    match: [REGISTRY/acme/dual/**]
    signedBy: [app-release, release-key]
    threshold: 2
  - name: two-refs                   # one certificate satisfies both identities
    match: [REGISTRY/acme/tworefs/**]
    signedBy: [app-any-ref, app-release]
    threshold: 2
  - name: every-platform
    match: [REGISTRY/acme/multi/**]
    signedBy: [app-release]
    platforms: all
  - name: attested                   # a recent clean scan and an SBOM without denied packages
    match: [REGISTRY/acme/attested/**]
    signedBy: [app-release]
    attestations:
      - type: vuln
        maxAge: 1h
        conditions:
          - name: no-critical
            expression: '!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")'
            message: fix the critical vulnerabilities (or suppress them in the scanner), then scan again
      - type: cyclonedx
        conditions:
          - '!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils"])'
  - name: costly                     # an accidental quadratic: the inner loop should be the only one
    match: [REGISTRY/acme/costly/**]
    signedBy: [app-release]
    attestations:
      - type: https://example.com/pairs/v1
        conditions:
          - name: item-names
            expression: predicate.items.all(x, predicate.items.all(y, y.startsWith("item-")))
  - name: acme
    match: [REGISTRY/acme/**]
    signedBy: [app-release, platform-gitlab, release-key]
  - name: third-party
    match: [REGISTRY/vendor/**]
    signature: optional
  - name: no-nginx
    match: [docker.io/library/nginx]
    deny: nginx is retired here; use REGISTRY/vendor/nginx
  - name: default-deny
    match: ["**"]
    deny: only images from approved registries may run
`

// KeyProvenancePolicy is the benchmarks' trust file for an image signed
// with the world's key and attested with SLSA v1 provenance from main
// (cosign.pub and trusted_root.json beside it; REGISTRY replaced).
const KeyProvenancePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json}
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - match: [REGISTRY/**]
    signedBy: [release-key]
    provenance: {required: true, sourceRefs: [refs/heads/main]}
`

// SignKeyProvenance signs d with the world's key and attests, in layout,
// SLSA v1 provenance from acme/app's release workflow on main: an image
// KeyProvenancePolicy admits. It returns the signer, for more attestations.
func (w *World) SignKeyProvenance(d name.Digest, layout ocisig.Layout) *sigstoretest.Signer {
	s := w.KeySigner(nil)
	w.Sign(d, d, s, layout)
	w.Attest(d, d, s, layout, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(releaseIdentity()))
	return s
}

// KeyAttestedPolicy is KeyProvenancePolicy that also requires an SBOM and
// a scan, with three CEL conditions in all.
const KeyAttestedPolicy = KeyProvenancePolicy + `    attestations:
      - type: vuln
        conditions: ['!vulnerabilities(predicate).exists(v, v.severity == "CRITICAL")']
      - type: cyclonedx
        conditions:
          - '!packages(predicate).exists(p, p.name in ["log4j-core", "xz-utils", "event-stream"])'
          - 'packages(predicate).all(p, p.purl != "")'
`
