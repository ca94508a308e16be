package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
)

// Fulcio is a real Fulcio with an ephemeral CA. It runs without a CT log, so its
// certificates carry no SCT: verifiers need to skip SCT checks (cosign --insecure-ignore-sct).
type Fulcio struct {
	URL      string
	ChainPEM []byte // CA chain (root last) from /api/v2/trustBundle
}

// fulcioConfig maps our two loopback issuers to the github-workflow and gitlab-pipeline
// CI providers. The ci-issuer-metadata is fulcio v1.8.8's config/identity/config.yaml,
// verbatim for the fields below: the `url` defaults keep SANs github.com/gitlab.com
// shaped even though our issuers are 127.0.0.1.
func fulcioConfig(o *OIDC) map[string]any {
	issuer := func(url, provider string) map[string]any {
		return map[string]any{"issuer-url": url, "client-id": "sigstore", "type": "ci-provider", "ci-provider": provider}
	}
	return map[string]any{
		"oidc-issuers": map[string]any{
			o.GitHubIssuer: issuer(o.GitHubIssuer, "github-workflow"),
			o.GitLabIssuer: issuer(o.GitLabIssuer, "gitlab-pipeline"),
		},
		"ci-issuer-metadata": map[string]any{
			"github-workflow": map[string]any{
				"default-template-values": map[string]string{"url": "https://github.com", "environment": ""},
				"extension-templates": map[string]string{
					"github-workflow-trigger":                 "event_name",
					"github-workflow-sha":                     "sha",
					"github-workflow-name":                    "workflow",
					"github-workflow-repository":              "repository",
					"github-workflow-ref":                     "ref",
					"build-signer-uri":                        "{{ .url }}/{{ .job_workflow_ref }}",
					"build-signer-digest":                     "job_workflow_sha",
					"runner-environment":                      "runner_environment",
					"source-repository-uri":                   "{{ .url }}/{{ .repository }}",
					"source-repository-digest":                "sha",
					"source-repository-ref":                   "ref",
					"source-repository-identifier":            "repository_id",
					"source-repository-owner-uri":             "{{ .url }}/{{ .repository_owner }}",
					"source-repository-owner-identifier":      "repository_owner_id",
					"build-config-uri":                        "{{ .url }}/{{ .workflow_ref }}",
					"build-config-digest":                     "workflow_sha",
					"build-trigger":                           "event_name",
					"run-invocation-uri":                      "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
					"source-repository-visibility-at-signing": "repository_visibility",
					"deployment-environment":                  "environment",
				},
				"subject-alternative-name-template": "{{ .url }}/{{ .job_workflow_ref }}",
			},
			"gitlab-pipeline": map[string]any{
				"default-template-values": map[string]string{"url": "https://gitlab.com", "environment": ""},
				"extension-templates": map[string]string{
					"build-signer-uri":                        "https://{{ .ci_config_ref_uri }}",
					"build-signer-digest":                     "ci_config_sha",
					"runner-environment":                      "runner_environment",
					"source-repository-uri":                   "{{ .url }}/{{ .project_path }}",
					"source-repository-digest":                "sha",
					"source-repository-ref":                   `refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}`,
					"source-repository-identifier":            "project_id",
					"source-repository-owner-uri":             "{{ .url }}/{{ .namespace_path }}",
					"source-repository-owner-identifier":      "namespace_id",
					"build-config-uri":                        "https://{{ .ci_config_ref_uri }}",
					"build-config-digest":                     "ci_config_sha",
					"build-trigger":                           "pipeline_source",
					"run-invocation-uri":                      "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}",
					"source-repository-visibility-at-signing": "project_visibility",
					"deployment-environment":                  "environment",
				},
				"subject-alternative-name-template": "https://{{ .ci_config_ref_uri }}",
			},
		},
	}
}

func (s *Stack) startFulcio(ctx context.Context) (*Fulcio, error) {
	dir := filepath.Join(s.Dir, "fulcio")
	cfgPath, err := writeYAML(dir, "config.yaml", fulcioConfig(s.OIDC))
	if err != nil {
		return nil, err
	}
	// Fulcio fetches OIDC discovery and JWKS over HTTPS: trust our issuer's CA.
	bundle := filepath.Join(dir, "ca-bundle.pem")
	if err := writeBundle(bundle, s.OIDC.CAPEM); err != nil {
		return nil, err
	}
	f := &Fulcio{}
	if err := onFreePorts(3, func(ports []int) error {
		p, err := s.run(ctx, "fulcio", ToolFulcio, dir, []string{"SSL_CERT_FILE=" + bundle},
			"serve", "--ca=ephemeralca", "--config-path="+cfgPath, "--ct-log-url=",
			"--host=127.0.0.1", fmt.Sprintf("--port=%d", ports[0]),
			"--grpc-host=127.0.0.1", fmt.Sprintf("--grpc-port=%d", ports[1]),
			fmt.Sprintf("--metrics-port=%d", ports[2]),
			"--legacy-unix-domain-socket="+filepath.Join(dir, "legacy.sock"))
		if err != nil {
			return err
		}
		f.URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		return p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, f.URL+"/api/v2/trustBundle"))
	}); err != nil {
		return nil, err
	}
	f.ChainPEM, err = fulcioChain(ctx, f.URL)
	return f, err
}

// fulcioChain reads the first chain of /api/v2/trustBundle as concatenated PEM.
func fulcioChain(ctx context.Context, url string) ([]byte, error) {
	body, err := httpGet(ctx, url+"/api/v2/trustBundle")
	if err != nil {
		return nil, err
	}
	var tb struct {
		Chains []struct{ Certificates []string } `json:"chains"`
	}
	if err := json.Unmarshal(body, &tb); err != nil {
		return nil, fmt.Errorf("decoding trust bundle: %w", err)
	}
	if len(tb.Chains) == 0 {
		return nil, fmt.Errorf("fulcio trust bundle has no chains: %s", body)
	}
	var out []byte
	for _, c := range tb.Chains[0].Certificates {
		out = append(out, strings.TrimSpace(c)+"\n"...)
	}
	return out, nil
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, tail(b, 500))
	}
	return b, nil
}
