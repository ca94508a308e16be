// Package attest builds the predicates `sign` attests: SLSA v1 provenance
// for the build that is running, from the CI's own environment and OIDC
// token claims (the same facts Fulcio puts in the signing certificate, so
// provenance and signer agree by construction), and the predicates rules
// ask for from the files other tools write: an SBOM (CycloneDX or SPDX
// JSON) as is, a vulnerability scan (Trivy or Grype JSON) as cosign's
// vulnerability predicate. It never signs; sign does.
package attest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/signet-dev/signet/ci"
)

// The build types signet emits (the predicate type is
// policy.SLSAProvenanceV1).
const (
	// BuildTypeGitHub is what actions/attest-build-provenance emits.
	BuildTypeGitHub = "https://actions.github.io/buildtypes/workflow/v1"
	// BuildTypeGitLab is signet's own, documented in docs/gitlab-buildtype.md.
	BuildTypeGitLab = "https://signet.dev/buildtypes/gitlab-ci/v1"
)

// Provenance is a SLSA v1 predicate.
type Provenance struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ExternalParameters names the workflow (GitHub) or pipeline definition
// (GitLab) that ran: the repository, the file and the ref.
type ExternalParameters struct {
	Workflow Workflow `json:"workflow"`
}

type Workflow struct {
	Ref        string `json:"ref"`
	Repository string `json:"repository"`
	Path       string `json:"path"`
}

type ResourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

type RunDetails struct {
	Builder  Builder  `json:"builder"`
	Metadata Metadata `json:"metadata"`
}

type Builder struct {
	ID string `json:"id"`
}

type Metadata struct {
	InvocationID string `json:"invocationId"`
}

// SourceRepository and SourceRef are what verify reads as the source.
func (p *Provenance) SourceRepository() string {
	return p.BuildDefinition.ExternalParameters.Workflow.Repository
}
func (p *Provenance) SourceRef() string { return p.BuildDefinition.ExternalParameters.Workflow.Ref }

// ErrNotCI is returned outside a CI system signet knows.
var ErrNotCI = errors.New("not running in GitHub Actions or GitLab CI: provenance cannot be built from the environment (pass --predicate FILE --type TYPE to attest any predicate)")

// FromCI builds provenance for the running job. claims, when non-nil, are
// the OIDC token's (preferred: they are what the certificate says);
// otherwise the CI's environment variables supply the same facts.
func FromCI(env ci.Env, claims ci.Claims) (*Provenance, error) {
	sys := ci.Detect(env)
	if claims != nil && claims.System() != ci.None {
		sys = claims.System()
	}
	if claims == nil {
		claims = ci.Claims{}
	}
	switch sys {
	case ci.GitHub:
		return github(ci.ServerURL(env, sys), withGitHubEnv(claims, env))
	case ci.GitLab:
		return gitlab(ci.ServerURL(env, sys), withGitLabEnv(claims, env))
	}
	return nil, ErrNotCI
}

func need(c ci.Claims, names ...string) error {
	var missing []string
	for _, n := range names {
		if c.Get(n) == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("building provenance: missing %s", strings.Join(missing, ", "))
	}
	return nil
}

// fill copies env[v] into c[k] where the claim is absent.
func fill(c ci.Claims, env ci.Env, pairs ...string) ci.Claims {
	out := ci.Claims{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		if out.Get(pairs[i]) == "" {
			if v := env(pairs[i+1]); v != "" {
				out[pairs[i]] = v
			}
		}
	}
	return out
}
