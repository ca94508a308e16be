package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/signet-dev/signet/test/readme"
	"github.com/signet-dev/signet/test/stack"
)

// The README's quickstarts, run as written against real servers: each
// block is taken from README.md (test/readme), and the test changes
// only what the local servers force, each change named and required to
// apply exactly once (rewrite): the public issuer, registry and Sigstore
// become the stack's, the release chart URL the chart in this checkout, and
// the node's own settings are added to the helm command.

// quickstartBlocks reads the README's marked blocks.
func quickstartBlocks(t *testing.T) map[string]string {
	t.Helper()
	b, err := readme.Quickstart(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rewrite applies each replacement to text, each exactly once.
func rewrite(t *testing.T, what, text string, repl ...[2]string) string {
	t.Helper()
	for _, r := range repl {
		if n := strings.Count(text, r[0]); n != 1 {
			t.Fatalf("%s: want exactly one %q to point at the local servers, found %d", what, r[0], n)
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	return text
}

// localTrust is a quickstart trust file pointed at the stack: its issuer
// and registry, and the stack's Sigstore (a trusted_root.json beside it; no
// CT log, so no SCT).
func localTrust(t *testing.T, s *stack.Stack, block, publicIssuer, issuer, ci, publicRepo, repo string) string {
	t.Helper()
	return rewrite(t, "the quickstart's trust.yaml", block,
		[2]string{"      issuer: " + publicIssuer + "\n", "      issuer: " + issuer + "\n      ci: " + ci + "\n"},
		[2]string{`"` + publicRepo + `"`, `"` + repo + `"`},
		[2]string{"kind: TrustPolicy\n", "kind: TrustPolicy\nsigstore: {trustedRoot: trusted_root.json, certificateTransparency: optional}\n"})
}

// releaseChartURL is where the README installs the chart from.
var releaseChartURL = regexp.MustCompile(`https://github\.com/signet-dev/signet/releases/download/v[0-9.]+/signet-enforce-[0-9.]+\.tgz`)

// TestQuickstartOnNode runs the README's steps 3 and 4 on a real node, with
// the real helm and kubectl: the GitHub quickstart's trust file (pointed at
// the stack), an image signed as its workflow signs (acme/hello's
// release.yml on main, keyless through the stack's Fulcio, with provenance),
// the quickstart's helm install, then its kubectl commands: the unsigned
// nginx is refused with the output the README shows, the pull secret block
// runs, and the signed image runs.
func TestQuickstartOnNode(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Node: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	ctx := t.Context()
	b := quickstartBlocks(t)
	helm, kubectl := stack.Helm(t), stack.Kubectl(t)
	reg := s.Node.RegistryHost
	dir := t.TempDir()
	trust := localTrust(t, s, b["github trust.yaml"], "https://token.actions.githubusercontent.com", s.OIDC.GitHubIssuer, "github",
		"ghcr.io/acme/hello", reg+"/acme/hello")
	root, err := os.ReadFile(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"trust.yaml": []byte(trust), "trusted_root.json": root} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Step 2, as the workflow's signet step does it: sign and attest the
	// pushed digest as acme/hello's release workflow on main.
	workload, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/test/stack/cmd/pause")
	if err != nil {
		t.Fatal(err)
	}
	image := appImage(t, ctx, workload, reg+"/acme/hello:"+stack.DefaultSHA, "hello")
	claims := stack.GitHubClaims{Repository: "acme/hello"}.Defaults()
	env := append(s.OIDC.ActionsEnv(claims), "GITHUB_ACTIONS=true", "SSL_CERT_FILE="+s.OIDC.CAFile)
	if out, _, code := runSignCLI(t, env, "image", "--attest", "--policy", filepath.Join(dir, "trust.yaml"), "--signing-config", s.SigningConfigPath, image); code != 0 {
		t.Fatalf("signing as the quickstart's workflow: exit %d\n%s", code, out)
	}

	// Step 3: the README's helm command.
	repo, digest := enforceImage(t, ctx, s)
	values, err := yaml.Marshal(nodeValues(s, repo, digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "node-values.yaml"), values, 0o644); err != nil {
		t.Fatal(err)
	}
	chart, err := filepath.Abs(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	install := b["install"]
	if n := len(releaseChartURL.FindAllString(install, -1)); n != 1 {
		t.Fatalf("the install block names the release chart %d times, want once:\n%s", n, install)
	}
	install = rewrite(t, "the install block", releaseChartURL.ReplaceAllString(install, chart),
		[2]string{"--set-file trustPolicy=trust.yaml\n", "--set-file trustPolicy=trust.yaml -f node-values.yaml --set-file 'keys.trusted_root\\.json=trusted_root.json'\n"})
	// The CLIs are cached as helm-<version> and kubectl-<version>; the
	// README calls them helm and kubectl.
	bin := t.TempDir()
	for name, p := range map[string]string{"helm": helm, "kubectl": kubectl} {
		if err := os.Symlink(p, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	shell := func(script string, extra ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		cmd.Env = append([]string{"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + t.TempDir(), "KUBECONFIG=" + s.Kube.Kubeconfig}, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t0 := time.Now()
	if out, err := shell("set -e\n" + install); err != nil {
		t.Fatalf("the quickstart's helm install: %v\n%s", err, out)
	}
	t.Logf("helm install --wait: %s", time.Since(t0).Round(time.Second))

	// Step 4: each command of the run block, and the output the README shows.
	var got strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(b["run"]), "\n") {
		out, _ := shell(line)
		got.WriteString(out)
	}
	if err := matchOutput(b["run output"], got.String()); err != nil {
		t.Fatalf("the run block's output is not the README's: %v\n--- got\n%s--- README\n%s", err, got.String(), b["run output"])
	}
	// The pull secret a private registry needs: the local registry takes
	// no credentials, so this shows that the commands work and that the
	// secret does not stand in the way of the pull or of the webhook.
	secret := rewrite(t, "the pull secret block", b["pull secret"], [2]string{"--docker-server=ghcr.io ", "--docker-server=" + reg + " "})
	if out, err := shell("set -e\n"+secret, "USERNAME=acme", "TOKEN=not-a-real-token"); err != nil {
		t.Fatalf("the quickstart's pull secret block: %v\n%s", err, out)
	}
	out, err := shell("set -e\n"+b["run signed"], "IMAGE="+image)
	if err != nil {
		t.Fatalf("the signed image does not run: %v\n%s", err, out)
	}
	out, err = shell("kubectl -n demo get deployment hello -o jsonpath='{.spec.template.spec.containers[0].image}'")
	if err != nil || strings.TrimSpace(out) != image {
		t.Fatalf("the deployment runs %q (%v), want the signed %s", out, err, image)
	}
}

// matchOutput compares output with the README's text line by line; "…" in
// the README stands for any text (a policy hash, a digest).
func matchOutput(want, got string) error {
	wl := strings.Split(strings.TrimSpace(want), "\n")
	gl := strings.Split(strings.TrimSpace(got), "\n")
	if len(wl) != len(gl) {
		return fmt.Errorf("%d lines, want %d", len(gl), len(wl))
	}
	for i := range wl {
		parts := strings.Split(wl[i], "…")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		if !regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(gl[i]) {
			return fmt.Errorf("line %d is %q, want %q", i+1, gl[i], wl[i])
		}
	}
	return nil
}

// signetAction is how the README's workflow names signet's action.
var signetAction = regexp.MustCompile(`uses: signet-dev/signet/ci-templates/github@v[0-9.]+\n`)

// TestGitHubQuickstartOnLocalStack runs the README's GitHub workflow as the
// Actions runner does, in acme/hello with the README's trust file: checkout,
// buildx and login stand-ins, build-push's stand-in pushing to the stack's
// registry, then signet's action from this checkout, step by step with its
// default inputs. No checksum is pinned for the default signet-version, so
// the action builds sign from its source, in a clean Go environment with
// fresh caches although the runner's environment is poisoned (GOFLAGS=
// -toolexec, GOWORK, GOENV, GOPROXY=off, relative GOCACHE: inherited, any
// of them fails the build). The token is the one GitHub would give the
// workflow (acme/hello's release.yml on main). The changes: the stack's
// issuer, registry and Sigstore (the signing config in the runner's
// environment), the action by path, and a local module mirror as its
// go-proxy. The pushed digest ends up signed and attested, accepted by
// `sign verify` with the quickstart's trust file.
func TestGitHubQuickstartOnLocalStack(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	start := time.Now()
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	b := quickstartBlocks(t)
	host := s.Registry.Host
	repo := t.TempDir()
	trust := localTrust(t, s, b["github trust.yaml"], "https://token.actions.githubusercontent.com", s.OIDC.GitHubIssuer, "github",
		"ghcr.io/acme/hello", host+"/acme/hello")
	workflow := b["github .github/workflows/release.yml"]
	if len(signetAction.FindAllString(workflow, -1)) != 1 {
		t.Fatalf("the quickstart's workflow does not use signet's action once:\n%s", workflow)
	}
	workflow = rewrite(t, "the quickstart's workflow", signetAction.ReplaceAllString(workflow, "uses: ./.signet/ci-templates/github\n"),
		[2]string{"registry: ghcr.io\n", "registry: " + host + "\n"},
		[2]string{"tags: ghcr.io/", "tags: " + host + "/"},
		[2]string{"          image: ghcr.io/", "          go-proxy: " + localModuleProxy(t) + "\n          image: " + host + "/"})
	root, err := os.ReadFile(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"trust.yaml": trust, "trusted_root.json": string(root), ".github/workflows/release.yml": workflow,
		"Dockerfile": "FROM scratch\nCOPY hello.txt /\n", "hello.txt": "hello\n"} {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// signet's action, where the rewritten workflow finds it in the checkout.
	if err := os.Symlink(repoRoot(t), filepath.Join(repo, ".signet")); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "init", "-q", "-b", "main")
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "hello")
	sha := git(t, repo, "rev-parse", "HEAD")

	sysCAs, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, append(append(sysCAs, '\n'), s.OIDC.CAPEM...), 0o644); err != nil {
		t.Fatal(err)
	}
	machine := map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE": caFile,
		// The local Sigstore instead of public-good (sign image reads SIGNET_SIGNING_CONFIG).
		"SIGNET_SIGNING_CONFIG": s.SigningConfigPath}
	maps.Copy(machine, poisonedGoEnv(t))
	w := &workflowRun{
		t: t, s: s, repo: repo, file: ".github/workflows/release.yml", wf: loadWorkflow(t, repo, ".github/workflows/release.yml"),
		github: map[string]string{"ref_name": "main", "repository": "acme/hello", "repository_owner": "acme",
			"actor": "octocat", "token": "ghs_test", "sha": sha},
		vars:    map[string]string{"SIGNET_REGISTRY": host},
		machine: machine,
		claims: func(string) stack.GitHubClaims {
			return stack.GitHubClaims{Repository: "acme/hello", SHA: sha}.Defaults()
		},
		artifacts: map[string]string{},
	}
	w.run()
	t.Logf("the quickstart's workflow in %s:\n%s", time.Since(start).Round(time.Second), w.Log.String())
	if len(w.actionLogs) != 1 || !strings.Contains(w.actionLogs[0], "building sign from the action's source") {
		t.Fatalf("the action did not say that it builds sign from source:\n%s", w.Log.String())
	}
	m := regexp.MustCompile(`build-push pushed (sha256:[0-9a-f]{64})`).FindStringSubmatch(w.Log.String())
	if m == nil {
		t.Fatal("nothing was pushed")
	}
	image := host + "/acme/hello@" + m[1]
	d := templateDecision(t, filepath.Join(repo, "trust.yaml"), image)
	if !d.Allowed || len(d.Signatures) == 0 || len(d.Attestations) == 0 {
		t.Fatalf("sign verify with the quickstart's trust file denied what its workflow signed: %v (rejected: %v)", d.Messages(), d.Rejected)
	}
	const san = "https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main"
	if sig, att := d.Signatures[0], d.Attestations[0]; sig.Identity != "hello-ci" || sig.Subject != san || sig.LogIndex == nil ||
		att.SourceRepository != "https://github.com/acme/hello" || att.SourceDigest != sha {
		t.Fatalf("signature %+v attestation %+v, want hello-ci by %s with a Rekor entry, provenance from acme/hello@%s", sig, att, san, sha)
	}
}

// signetComponent is how the README's pipeline includes signet.
var signetComponent = regexp.MustCompile(`component: \$CI_SERVER_FQDN/signet-dev/signet/signet@v[0-9.]+\n`)

// TestGitLabQuickstartOnLocalStack runs the README's GitLab pipeline in
// acme/hello with the README's trust file under gitlab-ci-local
// (newGitLabPipeline): the component, resolved from a local GitLab host,
// builds the project's Dockerfile with buildah, pushes it to the stack's
// registry and signs and attests the pushed digest as acme/hello's pipeline
// on main. The changes: the stack's issuer, registry and Sigstore (the
// component's signing-config input, since the sign job reads no variable),
// and the component's ref, the release tag the local host serves. `sign
// verify` with the quickstart's trust file accepts the digest.
func TestGitLabQuickstartOnLocalStack(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	b := quickstartBlocks(t)
	image := s.Registry.Host + "/acme/hello"
	trust := localTrust(t, s, b["gitlab trust.yaml"], "https://gitlab.com", s.OIDC.GitLabIssuer, "gitlab",
		"registry.gitlab.com/acme/hello", image)
	ci := b["gitlab .gitlab-ci.yml"]
	if len(signetComponent.FindAllString(ci, -1)) != 1 {
		t.Fatalf("the quickstart's pipeline does not include signet's component once:\n%s", ci)
	}
	ci = rewrite(t, "the quickstart's pipeline", signetComponent.ReplaceAllString(ci, "component: $$CI_SERVER_FQDN/signet-dev/signet/signet@SIGNET_TAG\n"),
		[2]string{"      image: $CI_REGISTRY_IMAGE\n", "      image: $CI_REGISTRY_IMAGE\n      signing-config: " + s.SigningConfigPath + "\n"})
	root, err := os.ReadFile(s.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := newGitLabPipeline(t, s, map[string]string{".gitlab-ci.yml": ci, "trust.yaml": trust, "trusted_root.json": string(root),
		"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hello\n"})
	p.run(t, "signet-sign")
	digest, _ := p.signed(t, image)
	d := templateDecision(t, filepath.Join(p.project, "trust.yaml"), image+"@"+digest)
	if !d.Allowed || len(d.Signatures) == 0 || len(d.Attestations) == 0 {
		t.Fatalf("sign verify with the quickstart's trust file denied what its pipeline signed: %v (rejected: %v)", d.Messages(), d.Rejected)
	}
	const san = "https://gitlab.com/acme/hello//.gitlab-ci.yml@refs/heads/main"
	if sig := d.Signatures[0]; sig.Identity != "hello-ci" || sig.Subject != san {
		t.Fatalf("signature %+v, want hello-ci by %s", sig, san)
	}
}
