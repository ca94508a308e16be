package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/tools/release"
)

// releaseBinaries is what the release test builds, the same as
// tools/release's testBinaries (so the two share one cold compile per
// platform): every command for the image platforms and sign for
// darwin/arm64; the release workflow on a tag builds the whole matrix.
const releaseBinaries = "sign/linux/amd64,sign/linux/arm64,sign/darwin/arm64,enforce/linux/amd64,enforce/linux/arm64,signet-kms/linux/amd64,signet-kms/linux/arm64,signet-node/linux/amd64,signet-node/linux/arm64"

// forStack points a trust file written for public-good GitHub at the local
// stack: its issuer, its trusted root (no CT log there), its registry.
func forStack(t *testing.T, s *stack.Stack, trust string) string {
	t.Helper()
	for _, r := range []struct{ old, new string }{
		{"issuer: https://token.actions.githubusercontent.com", "issuer: " + s.OIDC.GitHubIssuer + "\n      ci: github"},
		{"trustedRoot: public-good", "trustedRoot: " + s.TrustedRootPath + "\n  certificateTransparency: optional"},
	} {
		if strings.Count(trust, r.old) != 1 {
			t.Fatalf("trust file: want exactly one %q to point at the stack:\n%s", r.old, trust)
		}
		trust = strings.Replace(trust, r.old, r.new, 1)
	}
	return strings.ReplaceAll(trust, "ghcr.io/signet-dev/", s.Registry.Host+"/signet-dev/")
}

// TestReleaseWorkflowOnLocalStack runs .github/workflows/release.yml as
// GitHub runs it on a tag push of signet-dev/signet, against the local
// stack: the build job's steps (checkout, setup-go, make release pushing to
// the registry given as a repository variable, `sign blob` of SHA256SUMS
// keyless as release.yml), then the sign-images job through the reusable
// workflow and the composite action at the tag (keyless as
// reusable-release.yml), which signs every image with one sign, built once. The publish job needs GitHub itself and is not run.
// What it produced must then check out exactly as the release notes say:
// SHA256SUMS matches every file and its bundle verifies with cosign v3 as
// the notes' identity; every image, index and child, is accepted by `sign
// verify` with the notes' trust snippet and by cosign v2 and v3 with the
// notes' identity; the binaries for this platform report the tag.
//
// It runs beside the package's other waiting tests (main_test.go): on a
// fresh machine its make release waits for tools/release's, which holds the
// per-platform build lock while it cold-compiles the same platforms.
func TestReleaseWorkflowOnLocalStack(t *testing.T) {
	t.Parallel()
	start := time.Now()
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true, Rekor: true})
	v2, v3 := stack.CosignV2(t), stack.CosignV3(t)
	root := repoRoot(t)
	repo := filepath.Join(t.TempDir(), "signet")
	git(t, "", "clone", "-q", "--no-hardlinks", root, repo)
	trustPath := filepath.Join(repo, ".github", "signet-trust.yaml")
	trust, err := os.ReadFile(trustPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trustPath, []byte(forStack(t, s, string(trust))), 0o644); err != nil {
		t.Fatal(err)
	}
	tag, err := release.ReleaseVersion(repo)
	if err != nil {
		t.Fatal(err)
	}
	sha := git(t, repo, "rev-parse", "HEAD")
	cacheDir, err := stack.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	// The runner trusts the public CAs and, here, the stack's.
	sysCAs, _ := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, append(append(sysCAs, '\n'), s.OIDC.CAPEM...), 0o644)

	w := &workflowRun{
		t: t, s: s, repo: repo, file: ".github/workflows/release.yml", wf: loadWorkflow(t, repo, ".github/workflows/release.yml"),
		github: map[string]string{"ref_name": tag, "repository": "signet-dev/signet", "repository_owner": "signet-dev",
			"actor": "octocat", "token": "ghs_test", "sha": sha},
		vars: map[string]string{"SIGNET_REGISTRY": s.Registry.Host, "SIGNET_GO_PROXY": localModuleProxy(t)},
		machine: map[string]string{
			"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "SSL_CERT_FILE": caFile, "CURL_CA_BUNDLE": caFile,
			// The local Sigstore instead of public-good (every sign flag has a SIGNET_ variable).
			"SIGNET_SIGNING_CONFIG": s.SigningConfigPath,
			// The runner's tool cache: the SBOM generator built once.
			"SIGNET_STACK_CACHE": cacheDir,
			// CI budget: see releaseBinaries (a Makefile variable of make release).
			"BINARIES": releaseBinaries,
		},
		claims: func(file string) stack.GitHubClaims {
			return stack.GitHubClaims{Repository: "signet-dev/signet", Ref: "refs/tags/" + tag, SHA: sha,
				WorkflowPath: ".github/workflows/release.yml", Workflow: "release",
				JobWorkflowRef: "signet-dev/signet/" + file + "@refs/tags/" + tag}.Defaults()
		},
		only:      map[string]bool{"build": true, "sign-images": true},
		artifacts: map[string]string{},
	}
	w.run()
	t.Logf("release workflow in %s:\n%s", time.Since(start).Round(time.Second), w.Log.String())
	workspace, ok := w.artifacts["dist"]
	if !ok {
		t.Fatal("the build job uploaded no dist artifact")
	}
	dist := filepath.Join(workspace, "dist")
	// One signing job for the whole release: one build of sign, not one
	// per image (its images output is checked below).
	if len(w.actionLogs) != 1 {
		t.Errorf("the release ran the signing action %d times, want once for every image", len(w.actionLogs))
	}
	for _, l := range w.actionLogs {
		if !strings.Contains(l, "building sign from the action's source") {
			t.Errorf("the action at the tag should build sign from source (no pins for its own release):\n%s", l)
		}
	}

	var m release.Manifest
	if b, err := os.ReadFile(filepath.Join(dist, "release.json")); err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("dist/release.json: %v", err)
	}
	if m.Version != tag || len(m.Images) != len(release.Images) {
		t.Fatalf("release %s with %d images, want %s with %d", m.Version, len(m.Images), tag, len(release.Images))
	}
	notes, err := os.ReadFile(filepath.Join(dist, "RELEASE_NOTES.md"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, img := range append(m.Images, m.ChartOCI) {
		want = append(want, img.Reference[:strings.LastIndex(img.Reference, ":")]+"@"+img.Digest)
	}
	if got := strings.Fields(w.results["sign-images"].Outputs["images"]); !slices.Equal(got, want) {
		t.Errorf("the signing job's images output is %q, want every image and the chart pinned, in order: %q", got, want)
	}
	checkChecksums(t, s, v3, dist, string(notes), tag)
	checkHostBinaries(t, dist, tag)
	checkImages(t, s, v2, v3, m, string(notes), tag)
	checkChart(t, s, v2, v3, m, string(notes), tag)
	t.Logf("total %s", time.Since(start).Round(time.Second))
}

// notesIdentity returns the --certificate-identity the notes print on the
// line after `prefix`.
func notesIdentity(t *testing.T, notes, prefix string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[^\n]*\n\s*--certificate-identity (\S+)`)
	m := re.FindStringSubmatch(notes)
	if m == nil {
		t.Fatalf("the notes print no identity after %q", prefix)
	}
	return m[1]
}

func checkChecksums(t *testing.T, s *stack.Stack, cosignV3, dist, notes, tag string) {
	t.Helper()
	sums, err := os.ReadFile(filepath.Join(dist, release.ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sha256sum", "--check", "--strict", release.ChecksumsFile)
	cmd.Dir = dist
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum --check SHA256SUMS: %v\n%s", err, out)
	}
	parsed, _ := release.ParseChecksums(sums)
	for _, want := range []string{"sign_linux_amd64", "sign_darwin_arm64.cdx.json", "enforce_linux_arm64", "signet-enforce_linux_amd64.cdx.json", "signet-trust.yaml"} {
		if parsed[want] == "" {
			t.Errorf("SHA256SUMS does not list %s", want)
		}
	}
	id := notesIdentity(t, notes, "cosign verify-blob SHA256SUMS")
	if id != "https://github.com/signet-dev/signet/.github/workflows/release.yml@refs/tags/"+tag {
		t.Fatalf("checksum identity %s", id)
	}
	verify := func(file string) error {
		_, err := stack.RunCosign(t.Context(), cosignV3, stack.CosignEnv(t), "verify-blob", file,
			"--bundle", filepath.Join(dist, "SHA256SUMS.sigstore.json"), "--certificate-identity", id,
			"--certificate-oidc-issuer", s.OIDC.GitHubIssuer, "--trusted-root", s.TrustedRootPath, "--insecure-ignore-sct")
		return err
	}
	if err := verify(filepath.Join(dist, release.ChecksumsFile)); err != nil {
		t.Fatalf("cosign v3 verify-blob of SHA256SUMS as %s: %v", id, err)
	}
	tampered := filepath.Join(t.TempDir(), release.ChecksumsFile)
	os.WriteFile(tampered, append(append([]byte{}, sums...), "0000000000000000000000000000000000000000000000000000000000000000  evil\n"...), 0o644)
	if err := verify(tampered); err == nil {
		t.Fatal("the checksums bundle verifies a tampered SHA256SUMS")
	}
}

var stampedCommit = regexp.MustCompile(`\ncommit   [0-9a-f]{40}\n`)

func checkHostBinaries(t *testing.T, dist, tag string) {
	t.Helper()
	for _, name := range []string{"sign", "enforce"} {
		bin := filepath.Join(dist, name+"_"+runtime.GOOS+"_"+runtime.GOARCH)
		out, err := exec.Command(bin, "version").CombinedOutput()
		// The release stamps the commit it was built from (issue 26: it was missing).
		if err != nil || !strings.HasPrefix(string(out), name+" "+tag+"\n") || !stampedCommit.Match(out) {
			t.Errorf("%s version: want %s and the commit: %v\n%s", bin, tag, err, out)
		}
	}
}

func checkImages(t *testing.T, s *stack.Stack, v2, v3 string, m release.Manifest, notes, tag string) {
	t.Helper()
	snippet := regexp.MustCompile(`(?s)cat > signet-trust.yaml <<'TRUST'\n(.*?)TRUST\n`).FindStringSubmatch(notes)
	if snippet == nil {
		t.Fatal("the notes print no trust snippet")
	}
	policy := writePolicy(t, t.TempDir(), forStack(t, s, snippet[1]), nil)
	id := notesIdentity(t, notes, "cosign verify "+m.Images[0].Reference[:strings.LastIndex(m.Images[0].Reference, ":")])
	if id != "https://github.com/signet-dev/signet/.github/workflows/reusable-release.yml@refs/tags/"+tag {
		t.Fatalf("the notes' image identity is %s", id)
	}
	for _, img := range m.Images {
		repo := img.Reference[:strings.LastIndex(img.Reference, ":")]
		if !strings.Contains(notes, "sign verify --policy signet-trust.yaml "+repo+"@"+img.Digest) {
			t.Errorf("the notes lack the sign verify command for %s@%s", repo, img.Digest)
		}
		// The index, as the notes print it; its rule (platforms: all) also
		// requires every platform image to be signed by the release.
		{
			ref := repo + "@" + img.Digest
			dec := templateDecision(t, policy, ref)
			if !dec.Allowed || len(dec.Signatures) == 0 || len(dec.Attestations) == 0 {
				t.Fatalf("sign verify with the notes' trust snippet denied %s: %v (rejected %v)", ref, dec.Messages(), dec.Rejected)
			}
			if sig, att := dec.Signatures[0], dec.Attestations[0]; sig.Identity != "signet-release" || sig.Subject != id ||
				att.SourceRepository != "https://github.com/signet-dev/signet" || att.SourceRef != "refs/tags/"+tag {
				t.Fatalf("%s: signature %+v provenance %+v", ref, sig, att)
			}
		}
		digests := []string{img.Digest}
		for _, d := range img.Platforms {
			digests = append(digests, d)
		}
		for _, bin := range []string{v2, v3} {
			for _, d := range digests {
				if out, err := stack.CosignVerifyKeyless(t, bin, s, repo+"@"+d, id, s.OIDC.GitHubIssuer); err != nil {
					t.Fatalf("%s verify %s@%s as %s: %v\n%s", filepath.Base(bin), repo, d, id, err, out)
				}
			}
		}
	}
}

// checkChart: the chart the release pushed as an OCI artifact was signed and
// attested by the same job as the images, and checks out exactly as the
// notes say: sign verify with their trust snippet, cosign v2 and v3 with
// their identity; the notes install it with helm install oci://.
func checkChart(t *testing.T, s *stack.Stack, v2, v3 string, m release.Manifest, notes, tag string) {
	t.Helper()
	c := m.ChartOCI
	if c.Digest == "" || !strings.HasSuffix(c.Reference, "/"+release.ChartRepository+":"+strings.TrimPrefix(tag, "v")) {
		t.Fatalf("release.json records the chart artifact %+v", c)
	}
	repo := c.Reference[:strings.LastIndex(c.Reference, ":")]
	for _, want := range []string{"sign verify --policy signet-trust.yaml " + repo + "@" + c.Digest, "helm install signet oci://" + repo + " --version " + strings.TrimPrefix(tag, "v")} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q", want)
		}
	}
	snippet := regexp.MustCompile(`(?s)cat > signet-trust.yaml <<'TRUST'\n(.*?)TRUST\n`).FindStringSubmatch(notes)
	policy := writePolicy(t, t.TempDir(), forStack(t, s, snippet[1]), nil)
	dec := templateDecision(t, policy, repo+"@"+c.Digest)
	if !dec.Allowed || len(dec.Signatures) == 0 || len(dec.Attestations) == 0 {
		t.Fatalf("sign verify with the notes' trust snippet denied the chart %s@%s: %v (rejected %v)", repo, c.Digest, dec.Messages(), dec.Rejected)
	}
	id := notesIdentity(t, notes, "cosign verify "+repo+"@"+c.Digest)
	for _, bin := range []string{v2, v3} {
		if out, err := stack.CosignVerifyKeyless(t, bin, s, repo+"@"+c.Digest, id, s.OIDC.GitHubIssuer); err != nil {
			t.Fatalf("%s verify %s@%s as %s: %v\n%s", filepath.Base(bin), repo, c.Digest, id, err, out)
		}
	}
}
