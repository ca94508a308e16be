package sigstoretest

import (
	"encoding/json"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/signet-dev/signet/ocisig"
)

// SimpleSigning is cosign's simple-signing payload for ref, what a legacy
// .sig layer signs: critical.identity.docker-reference is the repository,
// critical.image.docker-manifest-digest the digest, optional null.
func SimpleSigning(ref name.Digest) []byte {
	b, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		panic(err) // a struct of strings always marshals
	}
	return b
}

// Statement is an in-toto v1 statement about one subject, the image digest,
// with an empty subject name (StatementFor sets one).
func Statement(digest v1.Hash, predicateType string, predicate any) []byte {
	return StatementFor("", digest, predicateType, predicate)
}

// StatementFor is Statement with a subject name (cosign uses the image
// repository, e.g. "ghcr.io/acme/app").
func StatementFor(subjectName string, digest v1.Hash, predicateType string, predicate any) []byte {
	st := struct {
		Type          string    `json:"_type"`
		Subject       []subject `json:"subject"`
		PredicateType string    `json:"predicateType"`
		Predicate     any       `json:"predicate"`
	}{
		Type:          ocisig.InTotoStatementType,
		Subject:       []subject{{Name: subjectName, Digest: map[string]string{digest.Algorithm: digest.Hex}}},
		PredicateType: predicateType,
		Predicate:     predicate,
	}
	if st.Predicate == nil {
		st.Predicate = map[string]any{}
	}
	b, err := json.Marshal(st)
	if err != nil {
		panic(err)
	}
	return b
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAv1GitHub is the SLSA v1 provenance predicate GitHub's
// actions/attest-build-provenance emits for a workflow run of id (use an
// identity from GitHub or GitHubReusable): buildType
// https://actions.github.io/buildtypes/workflow/v1, builder.id the signing
// workflow (job_workflow_ref), externalParameters.workflow the caller's
// workflow, the source commit as resolved dependency.
func SLSAv1GitHub(id Identity) map[string]any {
	e := id.Extensions
	repo := e.SourceRepositoryURI
	workflowPath := workflowPathOf(e.BuildConfigURI, repo)
	return map[string]any{
		"buildDefinition": map[string]any{
			"buildType": "https://actions.github.io/buildtypes/workflow/v1",
			"externalParameters": map[string]any{
				"workflow": map[string]any{
					"ref":        e.SourceRepositoryRef,
					"repository": repo,
					"path":       workflowPath,
				},
			},
			"internalParameters": map[string]any{
				"github": map[string]any{
					"event_name":          e.BuildTrigger,
					"repository_id":       e.SourceRepositoryIdentifier,
					"repository_owner_id": e.SourceRepositoryOwnerIdentifier,
					"runner_environment":  e.RunnerEnvironment,
				},
			},
			"resolvedDependencies": []any{
				map[string]any{
					"uri":    "git+" + repo + "@" + e.SourceRepositoryRef,
					"digest": map[string]any{"gitCommit": e.SourceRepositoryDigest},
				},
			},
		},
		"runDetails": map[string]any{
			"builder": map[string]any{"id": e.BuildSignerURI},
			"metadata": map[string]any{
				"invocationId": e.RunInvocationURI,
			},
		},
	}
}

// workflowPathOf extracts ".github/workflows/x.yml" from
// "https://github.com/acme/app/.github/workflows/x.yml@refs/heads/main".
func workflowPathOf(configURI, repoURI string) string {
	p := configURI
	if len(p) > len(repoURI)+1 && p[:len(repoURI)+1] == repoURI+"/" {
		p = p[len(repoURI)+1:]
	}
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '@' {
			return p[:i]
		}
	}
	return p
}
