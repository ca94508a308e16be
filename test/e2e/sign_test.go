package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verify"
)

// signPolicy is the trust file `sign` runs against on the local stack. The
// keyless rule requires the transparency log (sign writes a Rekor v2 entry
// into every bundle) and SLSA provenance from the signer's own repository;
// the local Fulcio has no CT log, so SCTs are optional.
const signPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: TRUSTED_ROOT
  transparencyLog: TLOG
  certificateTransparency: optional
identities:
  - name: github-release
    keyless: {issuer: GH_ISSUER, ci: github, repository: acme/app, workflow: .github/workflows/release.yml, refs: [refs/heads/main]}
  - name: gitlab-main
    keyless: {issuer: GL_ISSUER, ci: gitlab, project: acme/platform, workflow: .gitlab-ci.yml, refs: [refs/heads/main]}
  - name: signet-key
    key: {path: SIGNET_PUB}
  - name: cosign-key
    key: {path: COSIGN_PUB}
images:
  - name: ci-built
    match: [REGISTRY/acme/**, FRONT/acme/**]
    signedBy: [github-release, gitlab-main]
    provenance: {required: true, sourceMatchesSigner: true, sourceRefs: [refs/heads/main]}
  - name: key-signed
    match: [REGISTRY/keyed/**]
    signedBy: [signet-key, cosign-key]
  - match: ["**"]
    deny: not an approved registry
`

// The SANs Fulcio issues for the stack's default GitHub and GitLab claims.
const (
	githubSAN = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
	gitlabSAN = "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main"
)

// signWorld is the local stack plus what every `sign` test needs: the
// cosign CLIs, key pairs, a registry front that counts writes, and the
// trust file.
type signWorld struct {
	s            *stack.Stack
	v2, v3       string
	front        *countingRegistry
	policy       string
	signetKey    string // sign generate-key-pair, password stack.CosignPassword
	signetPub    string
	cosignKey    string // cosign generate-key-pair
	cosignPub    string
	dir          string
	tlogOptional string // the same trust file with transparencyLog: optional
}

func newSignWorld(t *testing.T) *signWorld {
	t.Helper()
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	w := &signWorld{s: s, v2: stack.CosignV2(t), v3: stack.CosignV3(t), dir: t.TempDir()}
	w.front = newCountingRegistry(t, s.Registry.URL)
	prefix := filepath.Join(w.dir, "signet")
	if out, code := w.sign(t, nil, "generate-key-pair", "--output-key-prefix", prefix); code != 0 {
		t.Fatalf("sign generate-key-pair exit %d: %s", code, out)
	}
	w.signetKey, w.signetPub = prefix+".key", prefix+".pub"
	w.cosignKey, w.cosignPub = stack.CosignGenerateKeyPair(t, w.v2)
	repl := map[string]string{
		"TRUSTED_ROOT": s.TrustedRootPath, "GH_ISSUER": s.OIDC.GitHubIssuer, "GL_ISSUER": s.OIDC.GitLabIssuer,
		"REGISTRY": s.Registry.Host, "FRONT": w.front.Host, "SIGNET_PUB": w.signetPub, "COSIGN_PUB": w.cosignPub,
	}
	repl["TLOG"] = "required"
	w.policy = writePolicy(t, filepath.Join(w.dir), signPolicy, repl)
	optDir := filepath.Join(w.dir, "tlog-optional")
	if err := os.MkdirAll(optDir, 0o755); err != nil {
		t.Fatal(err)
	}
	repl["TLOG"] = "optional"
	w.tlogOptional = writePolicy(t, optDir, signPolicy, repl)
	return w
}

// sign runs the sign binary in a hermetic environment (nothing inherited
// from the developer's or the real CI's environment) plus env, from a
// fresh working directory, and returns its combined output and exit code.
func (w *signWorld) sign(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	stdout, stderr, code := runSignCLI(t, env, args...)
	return stdout + stderr, code
}

func runSignCLI(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(signBin, args...)
	home := t.TempDir()
	cmd.Dir = home
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "TMPDIR=" + home,
		"DOCKER_CONFIG=" + home, "COSIGN_PASSWORD=" + stack.CosignPassword}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// signImage runs `sign image -o json` and decodes its result.
func (w *signWorld) signImage(t *testing.T, env []string, args ...string) (sign.Report, string, int) {
	t.Helper()
	args = append([]string{"image", "-o", "json"}, args...)
	stdout, stderr, code := runSignCLI(t, env, args...)
	var res sign.Report
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("sign %s: exit %d, output is not JSON (%v):\n%s\n%s", strings.Join(args, " "), code, err, stdout, stderr)
	}
	return res, stdout + stderr, code
}

// githubEnv is what a GitHub Actions job with `permissions: id-token: write`
// sees: the Actions token endpoint (served by the stack's issuer over HTTPS,
// whose CA the job trusts), the step output files.
func (w *signWorld) githubEnv(t *testing.T, c stack.GitHubClaims) (env []string, outputFile string) {
	outputFile = filepath.Join(t.TempDir(), "github_output")
	env = append(w.s.OIDC.ActionsEnv(c), "GITHUB_ACTIONS=true", "SSL_CERT_FILE="+w.s.OIDC.CAFile,
		"GITHUB_OUTPUT="+outputFile, "GITHUB_STEP_SUMMARY="+filepath.Join(t.TempDir(), "summary.md"))
	return env, outputFile
}

// gitlabEnv is what a GitLab job with `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}` sees.
func (w *signWorld) gitlabEnv(t *testing.T, c stack.GitLabClaims) (env []string, dotenv string) {
	tok, err := w.s.OIDC.MintGitLab(c)
	if err != nil {
		t.Fatal(err)
	}
	dotenv = filepath.Join(t.TempDir(), "signet.env")
	return []string{"GITLAB_CI=true", "SIGSTORE_ID_TOKEN=" + tok, "SIGNET_DOTENV=" + dotenv}, dotenv
}

// TestSignKeylessInCIIsAcceptedEverywhere: `sign image --attest`, run the
// way a GitHub Actions job and a GitLab job run it (token from the Actions
// endpoint / SIGSTORE_ID_TOKEN, services from the signing config), writes a
// signature and SLSA provenance that cosign v2 (legacy .sig/.att), cosign v3
// (bundle referrers) and `sign verify` all accept for the exact SAN and the
// stack's issuer, and that the trust file's provenance rule accepts.
func TestSignKeylessInCIIsAcceptedEverywhere(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	ghEnv, ghOutputs := w.githubEnv(t, stack.DefaultGitHubClaims())
	glEnv, glDotenv := w.gitlabEnv(t, stack.DefaultGitLabClaims())
	for _, run := range []struct {
		name, repo, san, issuer, identity, sourceRepo string
		env                                           []string
		outputs                                       string
	}{
		{"github", "acme/gh-app", githubSAN, w.s.OIDC.GitHubIssuer, "github-release", "https://github.com/acme/app", ghEnv, ghOutputs},
		{"gitlab", "acme/gl-app", gitlabSAN, w.s.OIDC.GitLabIssuer, "gitlab-main", "https://gitlab.com/acme/platform", glEnv, glDotenv},
	} {
		t.Run(run.name, func(t *testing.T) {
			digest := push(t, w.s.Registry.Host+"/"+run.repo+":1.0")
			tagRef := w.s.Registry.Host + "/" + run.repo + ":1.0"
			res, out, code := w.signImage(t, run.env, "--attest", "--policy", w.policy,
				"--signing-config", w.s.SigningConfigPath, tagRef)
			if code != 0 {
				t.Fatalf("sign image --attest exit %d:\n%s", code, out)
			}
			if res.Digest != digest.DigestStr() || len(res.Signed) != 1 || len(res.Attested) != 1 {
				t.Fatalf("want the tag's digest %s signed and attested once, got:\n%s", digest.DigestStr(), out)
			}
			for _, a := range append(res.Signed, res.Attested...) {
				if a.Bundle == "" || a.LegacyTag == "" || a.LogIndex == nil {
					t.Fatalf("want both layouts and a Rekor v2 entry for every item, got:\n%s", out)
				}
			}
			if res.Decision == nil || !res.Decision.Allowed {
				t.Fatalf("the post-check did not allow the pushed signatures:\n%s", out)
			}
			if !strings.Contains(out, "is a tag") {
				t.Fatalf("signing a tag must warn that the digest is what gets signed:\n%s", out)
			}
			if b, err := os.ReadFile(run.outputs); err != nil || !strings.Contains(strings.ToLower(string(b)), "digest="+digest.DigestStr()) {
				t.Fatalf("CI outputs %s lack the digest (%v):\n%s", run.outputs, err, b)
			}
			image := digest.String()

			if out, err := w.cosign(t, w.v2, "verify", image, run.san, run.issuer); err != nil {
				t.Fatalf("cosign v2 verify refused the legacy signature: %v\n%s", err, out)
			}
			if out, err := w.cosign(t, w.v2, "verify-attestation", image, run.san, run.issuer, "--type=slsaprovenance1"); err != nil {
				t.Fatalf("cosign v2 verify-attestation refused the legacy provenance: %v\n%s", err, out)
			}
			if out, err := w.cosign(t, w.v3, "verify", image, run.san, run.issuer); err != nil {
				t.Fatalf("cosign v3 verify refused the bundle: %v\n%s", err, out)
			}
			if out, err := w.cosign(t, w.v3, "verify-attestation", image, run.san, run.issuer, "--type=slsaprovenance1"); err != nil {
				t.Fatalf("cosign v3 verify-attestation refused the bundle provenance: %v\n%s", err, out)
			}
			// The checks above must be able to fail: another identity is refused.
			if _, err := w.cosign(t, w.v2, "verify", image, "https://github.com/acme-evil/app/.github/workflows/release.yml@refs/heads/main", run.issuer); err == nil {
				t.Fatal("cosign v2 verify accepted the signature for an identity that did not sign")
			}

			d := w.signVerify(t, w.policy, image)
			if !d.Allowed || len(d.Signatures) == 0 || len(d.Attestations) == 0 {
				t.Fatalf("sign verify denied what sign wrote: %v (rejected: %v)", d.Messages(), d.Rejected)
			}
			sig, att := d.Signatures[0], d.Attestations[0]
			if sig.Identity != run.identity || sig.Subject != run.san || sig.Layout != "bundle" || sig.LogIndex == nil {
				t.Fatalf("signature satisfied %q (%s, %s layout, log index %v), want %q by %s with a Rekor v2 entry",
					sig.Identity, sig.Subject, sig.Layout, sig.LogIndex, run.identity, run.san)
			}
			if att.Identity != run.identity || att.PredicateType != "https://slsa.dev/provenance/v1" ||
				att.SourceRepository != run.sourceRepo || att.SourceRef != "refs/heads/main" || att.SourceDigest != stack.DefaultSHA {
				t.Fatalf("provenance %+v, want SLSA v1 by %s from %s@refs/heads/main (%s)", att, run.identity, run.sourceRepo, stack.DefaultSHA)
			}
		})
	}
}

// TestSignLegacyOnlyIsAcceptedBySignVerify: with --format legacy (cosign
// v2's layout only; a Rekor v2 entry cannot be expressed there, so the trust
// comes from RFC 3161 timestamps) `sign verify` accepts the signature and,
// with the provenance rule, the .att layer, whose timestamp covers the
// envelope as cosign v2 stamps it.
func TestSignLegacyOnlyIsAcceptedBySignVerify(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	env, _ := w.gitlabEnv(t, stack.DefaultGitLabClaims())
	digest := push(t, w.s.Registry.Host+"/acme/legacy:1")
	res, out, code := w.signImage(t, env, "--attest", "--format", "legacy", "--policy", w.tlogOptional,
		"--signing-config", w.s.SigningConfigPath, digest.String())
	if code != 0 || len(res.Attested) != 1 || res.Attested[0].Bundle != "" || res.Attested[0].LegacyTag == "" {
		t.Fatalf("sign image --format legacy exit %d:\n%s", code, out)
	}
	d := w.signVerify(t, w.tlogOptional, digest.String())
	if !d.Allowed || len(d.Attestations) == 0 || d.Attestations[0].Layout != "legacy" {
		t.Fatalf("sign verify denied sign's legacy layout: %v (rejected: %v)", d.Messages(), d.Rejected)
	}
	// Only the legacy layout exists, so this is cosign v2 reading what
	// `sign` wrote for it (with both layouts it prefers the bundle).
	if out, err := w.cosignV2Legacy(t, "verify", digest.String(), gitlabSAN, w.s.OIDC.GitLabIssuer); err != nil {
		t.Fatalf("cosign v2 verify of the legacy .sig: %v\n%s", err, out)
	}
	if out, err := w.cosignV2Legacy(t, "verify-attestation", digest.String(), gitlabSAN, w.s.OIDC.GitLabIssuer, "--type=slsaprovenance1"); err != nil {
		t.Fatalf("cosign v2 verify-attestation of the legacy .att: %v\n%s", err, out)
	}
}

// TestSignPreflightRefusesBeforeAnyPush: a run on a ref or from a repository
// the trust file does not accept fails with exit 1, names the field, and the
// registry receives no write at all (counted by a proxy in front of it).
func TestSignPreflightRefusesBeforeAnyPush(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	image := push(t, w.front.Host+"/acme/app:1.0").String()
	for _, c := range []struct {
		name   string
		claims stack.GitHubClaims
		field  string
		actual string
	}{
		{"a trusted repository on an untrusted ref", stack.GitHubClaims{Ref: "refs/heads/feature"}, "ref", "refs/heads/feature"},
		{"acme-evil where acme/app is trusted", stack.GitHubClaims{Repository: "acme-evil/app"}, "repository", "acme-evil/app"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env, _ := w.githubEnv(t, c.claims)
			writes, tags := w.front.Writes(), w.front.tags(t, "acme/app")
			res, out, code := w.signImage(t, env, "--attest", "--policy", w.policy, "--signing-config", w.s.SigningConfigPath, image)
			if code != 1 || res.Preflight == nil || res.Preflight.OK {
				t.Fatalf("want a preflight refusal (exit 1), got exit %d:\n%s", code, out)
			}
			if n := w.front.Writes() - writes; n != 0 {
				t.Fatalf("preflight refused but the registry received %d writes:\n%s", n, out)
			}
			if after := w.front.tags(t, "acme/app"); !slices.Equal(tags, after) {
				t.Fatalf("tags changed from %v to %v", tags, after)
			}
			found := false
			for _, p := range res.Preflight.Problems {
				found = found || strings.Contains(p.Field, c.field) && strings.Contains(p.Actual, c.actual)
			}
			if !found || !strings.Contains(res.Error, "preflight") {
				t.Fatalf("want a %s problem showing %q:\n%s", c.field, c.actual, out)
			}
			// `sign preflight` alone gives the same verdict, field by field.
			stdout, stderr, code := runSignCLI(t, env, "preflight", "--attest", "--policy", w.policy, image)
			if code != 1 || !strings.Contains(stdout, "REFUSED") || !strings.Contains(stdout, c.actual) {
				t.Fatalf("sign preflight: exit %d:\n%s\n%s", code, stdout, stderr)
			}
		})
	}
	t.Run("the accepted identity passes and pushes", func(t *testing.T) {
		env, _ := w.githubEnv(t, stack.DefaultGitHubClaims())
		writes := w.front.Writes()
		_, out, code := w.signImage(t, env, "--attest", "--policy", w.policy, "--signing-config", w.s.SigningConfigPath, image)
		if code != 0 || w.front.Writes() == writes {
			t.Fatalf("exit %d, %d writes:\n%s", code, w.front.Writes()-writes, out)
		}
	})
}

// TestSignWithKeys: a key from `sign generate-key-pair` and a key from
// `cosign generate-key-pair` both sign with `sign image --key`, and cosign v2
// and v3 `verify --key` accept the result.
func TestSignWithKeys(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	w := newSignWorld(t)
	for _, k := range []struct{ name, key, pub, identity string }{
		{"sign generate-key-pair", w.signetKey, w.signetPub, "signet-key"},
		{"cosign generate-key-pair", w.cosignKey, w.cosignPub, "cosign-key"},
	} {
		t.Run(k.name, func(t *testing.T) {
			digest := push(t, w.s.Registry.Host+"/keyed/"+strings.Fields(k.name)[0]+":1")
			res, out, code := w.signImage(t, nil, "--key", k.key, "--policy", w.policy,
				"--signing-config", w.s.SigningConfigPath, digest.String())
			if code != 0 || res.Decision == nil || !res.Decision.Allowed {
				t.Fatalf("sign image --key exit %d:\n%s", code, out)
			}
			for _, bin := range []string{w.v2, w.v3} {
				args := append([]string{"verify", "--key=" + k.pub}, w.s.CosignVerifyArgs(bin)...)
				if out, err := stack.RunCosign(t.Context(), bin, stack.CosignEnv(t), append(args, digest.String())...); err != nil {
					t.Fatalf("%s verify --key refused it: %v\n%s", filepath.Base(bin), err, out)
				}
			}
			// The other key does not verify it.
			other := w.cosignPub
			if k.pub == w.cosignPub {
				other = w.signetPub
			}
			args := append([]string{"verify", "--key=" + other}, w.s.CosignVerifyArgs(w.v2)...)
			if _, err := stack.RunCosign(t.Context(), w.v2, stack.CosignEnv(t), append(args, digest.String())...); err == nil {
				t.Fatal("cosign accepted a signature for a key that did not make it")
			}
			d := w.signVerify(t, w.policy, digest.String())
			if !d.Allowed || d.Signatures[0].Identity != k.identity {
				t.Fatalf("sign verify: %+v", d)
			}
		})
	}
	t.Run("a wrong password is a clear error", func(t *testing.T) {
		digest := push(t, w.s.Registry.Host+"/keyed/pw:1")
		out, code := w.sign(t, []string{"COSIGN_PASSWORD=wrong"}, "image", "--key", w.cosignKey,
			"--signing-config", w.s.SigningConfigPath, digest.String())
		if code != 2 || !strings.Contains(out, "wrong password") {
			t.Fatalf("exit %d: %s", code, out)
		}
	})
}

// cosignV2LegacyArgs make cosign v2 verify the legacy .sig/.att layout
// against the stack's CAs. cosign v2.6 switches to the bundle format
// whenever it finds a bundle referrer, and its verify-attestation refuses
// --trusted-root for the legacy layout, so the Fulcio and TSA chains are
// given as files: the way pre-bundle cosign (and its users) verify.
func cosignV2LegacyArgs(t *testing.T, s *stack.Stack) []string {
	t.Helper()
	dir := t.TempDir()
	fulcio, tsa := filepath.Join(dir, "fulcio-chain.pem"), filepath.Join(dir, "tsa-chain.pem")
	if err := os.WriteFile(fulcio, s.Fulcio.ChainPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tsa, s.TSA.ChainPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--certificate-chain=" + fulcio, "--timestamp-certificate-chain=" + tsa, "--use-signed-timestamps",
		"--insecure-ignore-sct", "--insecure-ignore-tlog"}
}

// cosignV2Legacy runs cosign v2 `verify` or `verify-attestation` on the
// legacy layout for an exact identity.
func (w *signWorld) cosignV2Legacy(t *testing.T, cmd, image, san, issuer string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{cmd, "--certificate-identity=" + san, "--certificate-oidc-issuer=" + issuer}, cosignV2LegacyArgs(t, w.s)...)
	args = append(append(args, extra...), image)
	return stack.RunCosign(t.Context(), w.v2, stack.CosignEnv(t), args...)
}

// cosign runs `cosign <cmd> --certificate-identity san --certificate-oidc-issuer issuer`.
func (w *signWorld) cosign(t *testing.T, bin, cmd, image, san, issuer string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{cmd, "--certificate-identity=" + san, "--certificate-oidc-issuer=" + issuer}, w.s.CosignVerifyArgs(bin)...)
	args = append(append(args, extra...), image)
	return stack.RunCosign(t.Context(), bin, stack.CosignEnv(t), args...)
}

func (w *signWorld) signVerify(t *testing.T, policyPath, image string) *verify.Decision {
	t.Helper()
	stdout, stderr, _ := runSignCLI(t, nil, "verify", "--policy", policyPath, "-o", "json", image)
	var res verify.Report
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || len(res.Decisions) != 1 {
		t.Fatalf("sign verify output (%v):\n%s\n%s", err, stdout, stderr)
	}
	return res.Decisions[0]
}

// countingRegistry fronts a registry and counts every request it
// forwards, by kind (requestKind): "what the registry received".
type countingRegistry struct {
	Host  string
	mu    sync.Mutex
	kinds map[string]int
}

func newCountingRegistry(tb testing.TB, upstream string) *countingRegistry {
	tb.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		tb.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c := &countingRegistry{kinds: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.kinds[requestKind(r)]++
		c.mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	tb.Cleanup(srv.Close)
	c.Host = strings.TrimPrefix(srv.URL, "http://")
	return c
}

// requestKind names a registry request by what it does: "ping" (/v2/),
// "referrers", "tags", else "<method> manifest|blob|upload".
func requestKind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case strings.Contains(p, "/referrers/"):
		return "referrers"
	case strings.HasSuffix(p, "/tags/list"):
		return "tags"
	case strings.Contains(p, "/blobs/uploads"):
		return r.Method + " upload"
	case strings.Contains(p, "/blobs/"):
		return r.Method + " blob"
	case strings.Contains(p, "/manifests/"):
		return r.Method + " manifest"
	}
	return r.Method + " other"
}

// Writes counts the requests that could write (anything but GET and HEAD).
func (c *countingRegistry) Writes() int64 {
	n := 0
	for k, v := range c.Counts() {
		if k != "ping" && k != "referrers" && k != "tags" && !strings.HasPrefix(k, "GET ") && !strings.HasPrefix(k, "HEAD ") {
			n += v
		}
	}
	return int64(n)
}

// Counts is a copy of the requests by kind; Reset zeroes them.
func (c *countingRegistry) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.kinds)
}

func (c *countingRegistry) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.kinds)
}

// Total is the number of requests (of the given kinds, or all).
func (c *countingRegistry) Total(kinds ...string) int {
	n := 0
	for k, v := range c.Counts() {
		if len(kinds) == 0 || slices.Contains(kinds, k) {
			n += v
		}
	}
	return n
}

// String lists the counts by kind, sorted, for a failure message.
func (c *countingRegistry) String() string {
	counts := c.Counts()
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return fmt.Sprintf("%d requests (%s)", c.Total(), strings.Join(parts, ", "))
}

func (c *countingRegistry) tags(t *testing.T, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(c.Host + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(r)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	return tags
}
