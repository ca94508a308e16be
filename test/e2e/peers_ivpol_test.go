package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/test/stack"
)

// kyvernoIVPOL is an ImageValidatingPolicy as Kyverno documents it: one
// cosign key attestor (the transparency log and SCTs off, as the local
// stack has neither for keys) and the signature check over every
// container's image.
const kyvernoIVPOL = `apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: check-images
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE, UPDATE]
        resources: [pods]
  matchImageReferences:
    - glob: "REGISTRY/acme/*"
  attestors:
    - name: release
      cosign:
        key:
          data: |-
            KEY_PEM
        ctlog:
          insecureIgnoreTlog: true
          insecureIgnoreSCT: true
  validations:
    - expression: >-
        images.containers.map(image, verifyImageSignatures(image, [attestors.release])).all(e, e > 0)
      message: failed to verify image with the release key
`

// TestImportOfAnImageValidatingPolicyAgreesWithKyverno: Kyverno's CLI on an
// ImageValidatingPolicy, and `sign verify` on what `sign policy import`
// made of it, decide each image of the table alike. Kyverno's admission
// controller pins a tag to its digest before it validates (the policy's
// mutateDigest default), so its CLI is given the digest the tag names.
func TestImportOfAnImageValidatingPolicyAgreesWithKyverno(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	kyverno := stack.Kyverno(t)
	w := newPeerWorld(t)
	ivpol := write2(t, w.dir, "ivpol.yaml", w.fill(t, kyvernoIVPOL))
	trust, report := importPolicy(t, w.dir, nil, ivpol)
	images := append(w.keyImages(), peerImage{name: "outside-the-policy", repo: "vendor/tool", want: true})
	dir := t.TempDir()
	w.agree(t, images, trust, report, func(t *testing.T, image string, digest name.Digest) peerDecision {
		admitted, passed, out := kyvernoApply(t, kyverno, ivpol, dir, digest.String())
		// The summary counts the policy as passed for an image outside its
		// matchImageReferences too (its expression holds over no images),
		// so whether Kyverno verified a signature is read from the scope.
		inScope := strings.HasPrefix(image, w.s.Registry.Host+"/acme/")
		return peerDecision{admitted: admitted, verified: passed && inScope, out: out}
	})
}
