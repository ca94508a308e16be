package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/stack"
)

// The agreement tests hold `sign policy import` to the peers' own
// decisions: for each image of a table in the local registry, signet's
// decision on the imported trust file equals the decision of the real
// peer (Kyverno's CLI, policy-controller's policy-tester, both built from
// the module proxy by test/stack) on the original policy. A case where they
// differ on purpose names the change report's line that says so.

// peerImage is one row: how the image is made, and where signet and the
// peer differ on purpose, the report's words that say so.
type peerImage struct {
	name string
	repo string                                     // under the registry
	sign func(t *testing.T, ref string)             // nil: unsigned
	make func(t *testing.T, ref string) name.Digest // nil: push
	want bool                                       // the peer admits it
	diff string                                     // signet decides !want on purpose; the report says this
}

// peerWorld is the stack and the signers the tables sign with.
type peerWorld struct {
	s                *stack.Stack
	cosign           string
	key, pub         string // the trusted key pair
	otherKey         string // a key the policies do not trust
	ghToken, glToken string
	otherGHToken     string // GitHub, another repository
	dir              string
}

func newPeerWorld(t *testing.T) *peerWorld {
	s := stack.New(t, stack.Options{Registry: true, OIDC: true, Fulcio: true, TSA: true})
	w := &peerWorld{s: s, cosign: stack.CosignV2(t), dir: t.TempDir()}
	w.key, w.pub = stack.CosignGenerateKeyPair(t, w.cosign)
	w.otherKey, _ = stack.CosignGenerateKeyPair(t, w.cosign)
	var err error
	if w.ghToken, err = s.OIDC.MintGitHub(stack.DefaultGitHubClaims()); err != nil {
		t.Fatal(err)
	}
	if w.glToken, err = s.OIDC.MintGitLab(stack.DefaultGitLabClaims()); err != nil {
		t.Fatal(err)
	}
	if w.otherGHToken, err = s.OIDC.MintGitHub(stack.GitHubClaims{Repository: "evil/app"}.Defaults()); err != nil {
		t.Fatal(err)
	}
	return w
}

// keyImages are the rows of a policy that trusts w.key over
// REGISTRY/acme/*: signed by it (in a nested repository, as an index),
// unsigned, and signed by another key.
func (w *peerWorld) keyImages() []peerImage {
	return []peerImage{
		{name: "key", repo: "acme/app", sign: w.signKey(w.key), want: true},
		{name: "key-nested-repository", repo: "acme/team/app", sign: w.signKey(w.key), want: true},
		{name: "key-multi-arch", repo: "acme/multi", make: pushIndex, sign: w.signKey(w.key), want: true},
		{name: "unsigned", repo: "acme/unsigned", want: false},
		{name: "other-key", repo: "acme/other-key", sign: w.signKey(w.otherKey), want: false},
	}
}

func (w *peerWorld) signKey(key string) func(t *testing.T, ref string) {
	return func(t *testing.T, ref string) { stack.CosignSignKey(t, w.cosign, w.s, ref, key) }
}

func (w *peerWorld) signKeyless(token *string) func(t *testing.T, ref string) {
	return func(t *testing.T, ref string) { stack.CosignSignKeyless(t, w.cosign, w.s, ref, *token) }
}

// fill replaces the placeholders of a peer policy: REGISTRY, the trusted
// key (KEY_PEM), the Fulcio root (FULCIO_PEM), the issuers; PEMs are
// indented to the placeholder's column.
func (w *peerWorld) fill(t *testing.T, tmpl string) string {
	pub, err := os.ReadFile(w.pub)
	if err != nil {
		t.Fatal(err)
	}
	chain := w.s.Fulcio.ChainPEM
	for k, v := range map[string]string{"KEY_PEM": string(pub), "FULCIO_PEM": string(chain), "TSA_PEM": string(w.s.TSA.ChainPEM)} {
		re := regexp.MustCompile(`(?m)^( *)` + k + `$`)
		tmpl = re.ReplaceAllStringFunc(tmpl, func(m string) string {
			ind := m[:len(m)-len(k)]
			return ind + strings.ReplaceAll(strings.TrimSpace(v), "\n", "\n"+ind)
		})
	}
	return strings.NewReplacer("REGISTRY", w.s.Registry.Host, "GH_ISSUER", w.s.OIDC.GitHubIssuer,
		"GL_ISSUER", w.s.OIDC.GitLabIssuer).Replace(tmpl)
}

// importPolicy runs `sign policy import` on the peer's files and returns
// the trust file and the text report.
func importPolicy(t *testing.T, dir string, extra []string, files ...string) (trust, report string) {
	t.Helper()
	out := filepath.Join(dir, "imported")
	stdout, stderr, code := runSignCLI(t, nil, append(append([]string{"policy", "import", "--dir", out}, extra...), files...)...)
	if code != 0 {
		t.Fatalf("sign policy import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("change report:\n%s", stdout)
	return filepath.Join(out, "trust.yaml"), stdout
}

// peerDecision is what a peer decided: whether it admitted the image, and
// whether it verified a signature to do so (an image outside a Kyverno
// policy is admitted unchecked).
type peerDecision struct {
	admitted, verified bool
	out                string
}

// agree checks each image: the peer's decision, then signet's on the
// imported trust file. The peer is given the image by tag and the digest
// the tag names.
func (w *peerWorld) agree(t *testing.T, images []peerImage, trust, report string, peer func(t *testing.T, image string, digest name.Digest) peerDecision) {
	for _, im := range images {
		t.Run(im.name, func(t *testing.T) {
			ref := w.s.Registry.Host + "/" + im.repo + ":1"
			var digest name.Digest
			if im.make != nil {
				digest = im.make(t, ref)
			} else {
				digest = push(t, ref)
			}
			if im.sign != nil {
				im.sign(t, digest.String())
			}
			pd := peer(t, ref, digest)
			got, out := pd.admitted, pd.out
			if got != im.want {
				t.Fatalf("the peer admitted=%v, the table says %v:\n%s", got, im.want, out)
			}
			d, _ := signVerify(t, trust, ref)
			want := im.want
			if im.diff != "" {
				if !strings.Contains(report, im.diff) {
					t.Fatalf("signet differs from the peer on purpose here, but the report does not say %q", im.diff)
				}
				want = !want
			}
			if d.Allowed != want {
				t.Fatalf("signet admitted=%v on the imported policy, the peer %v (%s):\n%v\npeer:\n%s", d.Allowed, got, im.diff, d.Messages(), out)
			}
			// Admitted alike, and for the same reason: a signature both
			// verified, or (outside a Kyverno policy) none either checked.
			if verified := len(d.Signatures) > 0; d.Allowed && im.diff == "" && verified != pd.verified {
				t.Fatalf("both admitted, but signet verified a signature: %v, the peer: %v (rule %v)\npeer:\n%s", verified, pd.verified, d.Rule, out)
			}
		})
	}
}

// pushIndex writes a two-platform image index to ref.
func pushIndex(t *testing.T, ref string) name.Digest {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.ImageIndex = empty.Index
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	h, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

func peerCtx(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 3*time.Minute)
}

// kyvernoPolicy is a ClusterPolicy as Kyverno users write it: Kyverno's
// "*" (it crosses "/"), one attestor set of which any entry counts (a key,
// keyless GitHub and GitLab identities under the local Fulcio; the GitLab
// one names the timestamp authority, the GitHub one does not), the
// transparency log and SCTs off (the local stack has no CT log and cosign
// v2 does not write to Rekor v2; Kyverno wants a keyless attestor's Rekor
// URL even when it ignores the log).
const kyvernoPolicy = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-images
spec:
  validationFailureAction: Enforce
  background: false
  rules:
    - name: verify-signature
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["REGISTRY/acme/*"]
          attestors:
            - count: 1
              entries:
                - keys:
                    publicKeys: |-
                      KEY_PEM
                    rekor: {ignoreTlog: true}
                    ctlog: {ignoreSCT: true}
                - keyless:
                    subject: "https://github.com/acme/app/.github/workflows/*"
                    issuer: GH_ISSUER
                    roots: |-
                      FULCIO_PEM
                    rekor: {url: "http://127.0.0.1:9", ignoreTlog: true}
                    ctlog: {ignoreSCT: true}
                - keyless:
                    subject: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main"
                    issuer: GL_ISSUER
                    roots: |-
                      FULCIO_PEM
                    rekor: {url: "http://127.0.0.1:9", ignoreTlog: true}
                    ctlog:
                      ignoreSCT: true
                      tsaCertChain: |-
                        TSA_PEM
`

const kyvernoPod = `apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: default
spec:
  containers:
    - name: app
      image: IMAGE
`

// TestImportAgreesWithKyverno: Kyverno's CLI (`kubectl-kyverno apply`,
// the engine of its admission controller) on a ClusterPolicy, and `sign
// verify` on what `sign policy import` made of it, decide each image of
// the table alike: signed by the key or a keyless identity, a nested
// repository (Kyverno's "*" crosses "/"), a multi-arch index, unsigned,
// signed by another key or another repository's workflow, and an image
// the policy never names (Kyverno does not check it; the import's final
// rule admits it, and the report says so).
func TestImportAgreesWithKyverno(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	kyverno := stack.Kyverno(t)
	w := newPeerWorld(t)
	cpol := write2(t, w.dir, "cpol.yaml", w.fill(t, kyvernoPolicy))
	trust, report := importPolicy(t, w.dir, nil, cpol)
	images := append(w.keyImages(),
		// Kyverno checks an untimed certificate at admission (it admits for
		// ~10 minutes after signing); signet refuses it for want of a trusted time.
		peerImage{name: "keyless-github-untimed", repo: "acme/gh", sign: w.signKeyless(&w.ghToken), want: true,
			diff: "no timestamp authority is named"},
		peerImage{name: "keyless-gitlab-timestamped", repo: "acme/gl", sign: w.signKeyless(&w.glToken), want: true},
		peerImage{name: "keyless-other-repository", repo: "acme/evil", sign: w.signKeyless(&w.otherGHToken), want: false},
		peerImage{name: "outside-the-policy", repo: "vendor/tool", want: true},
	)
	w.agree(t, images, trust, report, kyvernoPeer(kyverno, cpol, t.TempDir()))
}

// kyvernoPeer is Kyverno's CLI deciding a ClusterPolicy: a rule that
// verified the image passes; one that does not name it neither passes
// nor fails.
func kyvernoPeer(kyverno, policy, dir string) func(t *testing.T, image string, _ name.Digest) peerDecision {
	return func(t *testing.T, image string, _ name.Digest) peerDecision {
		admitted, passed, out := kyvernoApply(t, kyverno, policy, dir, image)
		return peerDecision{admitted: admitted, verified: passed, out: out}
	}
}

// kyvernoApply runs Kyverno's CLI on policy and a pod of image (written to
// dir) and reads its summary: admitted when no rule failed or errored,
// passed when one passed.
func kyvernoApply(t *testing.T, kyverno, policy, dir, image string) (admitted, passed bool, out string) {
	t.Helper()
	pod := write2(t, dir, "pod.yaml", strings.ReplaceAll(kyvernoPod, "IMAGE", image))
	ctx, cancel := peerCtx(t)
	defer cancel()
	out, code, err := stack.RunPeer(ctx, kyverno, stack.PeerEnv(t), "apply", policy, "--resource", pod)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`pass: (\d+), fail: (\d+), warn: (\d+), error: (\d+), skip: (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("kyverno apply (exit %d) printed no result line:\n%s", code, out)
	}
	return m[2] == "0" && m[4] == "0", m[1] != "0", out
}

func write2(t *testing.T, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	write(t, p, []byte(data))
	return p
}

// pcTrustRoot is a TrustRoot for the local stack: its Fulcio and its
// timestamp authority (no log: cosign v2 does not write to Rekor v2).
const pcTrustRoot = `apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata:
  name: stack
spec:
  sigstoreKeys:
    certificateAuthorities:
      - subject: {organization: sigstore, commonName: sigstore}
        uri: FULCIO_URL
        certChain: FULCIO_B64
    timestampAuthorities:
      - subject: {organization: local, commonName: tsa}
        uri: TSA_URL
        certChain: TSA_B64
`

// pcPolicy is a ClusterImagePolicy as policy-controller users write it:
// its glob dialect ("**" across "/"), authorities of which any one counts
// (a key; GitHub and GitLab identities under the TrustRoot, with signed
// timestamps).
const pcPolicy = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: acme
spec:
  images:
    - glob: "REGISTRY/acme/**"
  authorities:
    - name: key
      key:
        data: |
          KEY_PEM
    - name: github
      keyless:
        trustRootRef: stack
        insecureIgnoreSCT: true
        identities:
          - issuer: GH_ISSUER
            subjectRegExp: "^https://github\\.com/acme/app/\\.github/workflows/[^/]+@refs/heads/main$"
      rfc3161timestamp:
        trustRootRef: stack
    - name: gitlab
      keyless:
        trustRootRef: stack
        insecureIgnoreSCT: true
        identities:
          - issuer: GL_ISSUER
            subject: "https://gitlab.com/acme/platform//.gitlab-ci.yml@refs/heads/main"
      rfc3161timestamp:
        trustRootRef: stack
`

// TestImportAgreesWithPolicyTester: policy-controller's policy-tester on
// a ClusterImagePolicy and its TrustRoot, and `sign verify` on what `sign
// policy import` made of them, decide each image of the table alike:
// signed by the key or a keyless identity (timestamped), a nested
// repository, a multi-arch index, unsigned, another key, another
// repository's workflow, and an image no policy names (policy-controller
// denies it, as the import's final deny rule does).
func TestImportAgreesWithPolicyTester(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	tester := stack.PolicyTester(t)
	w := newPeerWorld(t)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	tr := write2(t, w.dir, "trustroot.yaml", strings.NewReplacer("FULCIO_URL", w.s.Fulcio.URL, "FULCIO_B64", b64(w.s.Fulcio.ChainPEM),
		"TSA_URL", w.s.TSA.TimestampURL(), "TSA_B64", b64(w.s.TSA.ChainPEM)).Replace(pcTrustRoot))
	cip := write2(t, w.dir, "cip.yaml", w.fill(t, pcPolicy))
	trust, report := importPolicy(t, w.dir, nil, cip, tr)
	images := []peerImage{
		{name: "key", repo: "acme/app", sign: w.signKey(w.key), want: true},
		{name: "key-nested-repository", repo: "acme/team/app", sign: w.signKey(w.key), want: true},
		{name: "key-multi-arch", repo: "acme/multi", make: pushIndex, sign: w.signKey(w.key), want: true},
		{name: "keyless-github", repo: "acme/gh", sign: w.signKeyless(&w.ghToken), want: true},
		{name: "keyless-gitlab", repo: "acme/gl", sign: w.signKeyless(&w.glToken), want: true},
		{name: "unsigned", repo: "acme/unsigned", want: false},
		{name: "other-key", repo: "acme/other-key", sign: w.signKey(w.otherKey), want: false},
		{name: "keyless-other-repository", repo: "acme/evil", sign: w.signKeyless(&w.otherGHToken), want: false},
		{name: "outside-the-policy", repo: "vendor/tool", sign: w.signKey(w.key), want: false},
	}
	w.agree(t, images, trust, report, policyTesterPeer(tester, "--policy", cip, "--trustroot", tr))
}

// policyTesterPeer is policy-controller's policy-tester deciding with
// args (--policy, --trustroot). It admits only what an authority verified
// (an image no policy matches is denied).
func policyTesterPeer(tester string, args ...string) func(t *testing.T, image string, _ name.Digest) peerDecision {
	return func(t *testing.T, image string, _ name.Digest) peerDecision {
		ctx, cancel := peerCtx(t)
		defer cancel()
		out, code, err := stack.RunPeer(ctx, tester, stack.PeerEnv(t), append(slices.Clip(args), "--image", image)...)
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 && !strings.Contains(out, `"errors"`) {
			t.Fatalf("policy-tester failed to run (exit %d):\n%s", code, out)
		}
		return peerDecision{admitted: code == 0, verified: code == 0, out: out}
	}
}
