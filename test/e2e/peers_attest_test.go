package e2e

import (
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// kyvernoAttestationPolicy is a ClusterPolicy that wants the image signed
// by a key and SLSA v1 provenance, attested by the same key, whose build
// type and source repository are what the conditions say (Kyverno's
// JMESPath keys over the predicate).
const kyvernoAttestationPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-provenance
spec:
  validationFailureAction: Enforce
  background: false
  rules:
    - name: verify-provenance
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["REGISTRY/acme/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
                      KEY_PEM
                    rekor: {ignoreTlog: true}
                    ctlog: {ignoreSCT: true}
          attestations:
            - type: https://slsa.dev/provenance/v1
              attestors:
                - entries:
                    - keys:
                        publicKeys: |-
                          KEY_PEM
                        rekor: {ignoreTlog: true}
                        ctlog: {ignoreSCT: true}
              conditions:
                - all:
                    - key: "{{ buildDefinition.buildType }}"
                      operator: Equals
                      value: https://actions.github.io/buildtypes/workflow/v1
                    - key: "{{ buildDefinition.externalParameters.workflow.repository }}"
                      operator: Equals
                      value: https://github.com/acme/app
`

// provenance is a SLSA v1 predicate of a GitHub Actions build of repository.
func provenance(buildType, repository string) string {
	return `{"buildDefinition": {"buildType": "` + buildType + `",
  "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": "` + repository + `", "path": ".github/workflows/build.yml"}}},
 "runDetails": {"builder": {"id": "https://github.com/actions/runner/github-hosted"}}}`
}

// TestImportOfAttestationConditionsAgreesWithKyverno: Kyverno's CLI on a
// ClusterPolicy whose verifyImages entry requires attested provenance with
// conditions, and `sign verify` on what `sign policy import` made of it,
// decide each image alike: signed and attested as the conditions want;
// attested with another build type, or from another repository; signed
// but not attested; attested by a key the policy does not trust; and an
// image the policy never names.
func TestImportOfAttestationConditionsAgreesWithKyverno(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	kyverno := stack.Kyverno(t)
	w := newPeerWorld(t)
	cpol := write2(t, w.dir, "cpol.yaml", w.fill(t, kyvernoAttestationPolicy))
	trust, report := importPolicy(t, w.dir, nil, cpol)

	const github = "https://actions.github.io/buildtypes/workflow/v1"
	good := write2(t, w.dir, "good.json", provenance(github, "https://github.com/acme/app"))
	otherType := write2(t, w.dir, "other-type.json", provenance("https://example.com/hand-built/v1", "https://github.com/acme/app"))
	otherRepo := write2(t, w.dir, "other-repo.json", provenance(github, "https://github.com/evil/app"))
	attested := func(key, predicate string) func(t *testing.T, ref string) {
		return func(t *testing.T, ref string) {
			stack.CosignSignKey(t, w.cosign, w.s, ref, w.key)
			stack.CosignAttestKey(t, w.cosign, w.s, ref, key, "slsaprovenance1", predicate)
		}
	}
	images := []peerImage{
		{name: "attested", repo: "acme/app", sign: attested(w.key, good), want: true},
		{name: "attested-multi-arch", repo: "acme/multi", make: pushIndex, sign: attested(w.key, good), want: true},
		{name: "other-build-type", repo: "acme/hand-built", sign: attested(w.key, otherType), want: false},
		{name: "other-repository", repo: "acme/forked", sign: attested(w.key, otherRepo), want: false},
		{name: "signed-not-attested", repo: "acme/plain", sign: w.signKey(w.key), want: false},
		{name: "attested-by-another-key", repo: "acme/other-key", sign: attested(w.otherKey, good), want: false},
		{name: "outside-the-policy", repo: "vendor/tool", want: true},
	}
	w.agree(t, images, trust, report, kyvernoPeer(kyverno, cpol, t.TempDir()))
}

// pcAttestationPolicy is a ClusterImagePolicy whose one authority, a key,
// must also have attested SLSA v1 provenance (no CUE or Rego policy over
// it: the import would report that as weaker).
const pcAttestationPolicy = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: acme-provenance
spec:
  images:
    - glob: "REGISTRY/acme/**"
  authorities:
    - name: key
      key:
        data: |
          KEY_PEM
      attestations:
        - name: provenance
          predicateType: https://slsa.dev/provenance/v1
`

// TestImportOfAttestationsAgreesWithPolicyTester: policy-controller's
// policy-tester on a ClusterImagePolicy whose authority requires attested
// provenance, and `sign verify` on the import, decide each image alike:
// signed and attested, attested as an index, signed but not attested,
// attested with another predicate type, attested by another key, and an
// image no policy names.
func TestImportOfAttestationsAgreesWithPolicyTester(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	tester := stack.PolicyTester(t)
	w := newPeerWorld(t)
	cip := write2(t, w.dir, "cip.yaml", w.fill(t, pcAttestationPolicy))
	trust, report := importPolicy(t, w.dir, nil, cip)

	slsa := write2(t, w.dir, "slsa.json", provenance("https://actions.github.io/buildtypes/workflow/v1", "https://github.com/acme/app"))
	attested := func(key, predicateType string) func(t *testing.T, ref string) {
		return func(t *testing.T, ref string) {
			stack.CosignSignKey(t, w.cosign, w.s, ref, w.key)
			stack.CosignAttestKey(t, w.cosign, w.s, ref, key, predicateType, slsa)
		}
	}
	images := []peerImage{
		{name: "attested", repo: "acme/app", sign: attested(w.key, "slsaprovenance1"), want: true},
		{name: "attested-multi-arch", repo: "acme/multi", make: pushIndex, sign: attested(w.key, "slsaprovenance1"), want: true},
		{name: "signed-not-attested", repo: "acme/plain", sign: w.signKey(w.key), want: false},
		{name: "another-predicate-type", repo: "acme/custom", sign: attested(w.key, "https://example.com/predicate/v1"), want: false},
		{name: "attested-by-another-key", repo: "acme/other-key", sign: attested(w.otherKey, "slsaprovenance1"), want: false},
		{name: "outside-the-policy", repo: "vendor/tool", sign: attested(w.key, "slsaprovenance1"), want: false},
	}
	w.agree(t, images, trust, report, policyTesterPeer(tester, "--policy", cip))
}
