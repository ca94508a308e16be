package ci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// System is a CI system.
type System string

const (
	None   System = ""
	GitHub System = "github"
	GitLab System = "gitlab"
)

// Env is a view of the process environment; tests pass a map.
type Env func(string) string

// OSEnv reads the real environment.
func OSEnv(k string) string { return os.Getenv(k) }

// MapEnv adapts a map for tests.
func MapEnv(m map[string]string) Env { return func(k string) string { return m[k] } }

// Detect says which CI the process runs in.
func Detect(env Env) System {
	switch {
	case env("GITHUB_ACTIONS") == "true":
		return GitHub
	case env("GITLAB_CI") == "true":
		return GitLab
	}
	return None
}

// ServerURL is the CI web origin used in certificate URIs.
func ServerURL(env Env, s System) string {
	switch s {
	case GitHub:
		if u := env("GITHUB_SERVER_URL"); u != "" {
			return strings.TrimSuffix(u, "/")
		}
		return GitHubServer
	case GitLab:
		if u := env("CI_SERVER_URL"); u != "" {
			return strings.TrimSuffix(u, "/")
		}
		return GitLabServer
	}
	return ""
}

// TokenSource says where IDToken found the token, for messages.
type TokenSource string

// IDToken finds the OIDC token for Fulcio: the explicit token (a flag),
// else GitHub Actions' token endpoint (audience sigstore; the workflow
// needs `permissions: id-token: write`), else GitLab's SIGSTORE_ID_TOKEN
// (an `id_tokens:` entry with `aud: sigstore`).
func IDToken(ctx context.Context, env Env, explicit string, client *http.Client) (string, TokenSource, error) {
	if t := strings.TrimSpace(explicit); t != "" {
		return t, "--identity-token", nil
	}
	if u := env("ACTIONS_ID_TOKEN_REQUEST_URL"); u != "" {
		t, err := githubToken(ctx, u, env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"), client)
		return t, "GitHub Actions token endpoint", err
	}
	if t := strings.TrimSpace(env("SIGSTORE_ID_TOKEN")); t != "" {
		return t, "SIGSTORE_ID_TOKEN", nil
	}
	if Detect(env) == GitHub {
		return "", "", errors.New("no OIDC token: ACTIONS_ID_TOKEN_REQUEST_URL is unset; give the job `permissions: id-token: write`")
	}
	if Detect(env) == GitLab {
		return "", "", errors.New("no OIDC token: SIGSTORE_ID_TOKEN is unset; add `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` to the job")
	}
	return "", "", errors.New("no OIDC token: pass --identity-token (or SIGNET_IDENTITY_TOKEN), run in GitHub Actions or GitLab CI, or sign with --key")
}

func githubToken(ctx context.Context, reqURL, bearer string, client *http.Client) (string, error) {
	if bearer == "" {
		return "", errors.New("ACTIONS_ID_TOKEN_REQUEST_TOKEN is unset")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("parsing ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", "sigstore")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting GitHub OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting GitHub OIDC token: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("GitHub OIDC token response has no value: %v", err)
	}
	return v.Value, nil
}
