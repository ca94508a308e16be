package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/verify"
)

// notationCLITrust pins SUBJECT for two repositories: acme/plain (the
// chain must be valid now) and acme/stamped (a timestamp by the stack's
// TSA is required). notationCLIPolicy is the same trust as notation's
// trust policy, over the trust stores ca:acme and tsa:stack.
const (
	notationCLITrust = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: plain
    notation: {certificateAuthorities: [{path: acme-root.pem}], subject: "SUBJECT"}
  - name: stamped
    notation: {certificateAuthorities: [{path: acme-root.pem}], subject: "SUBJECT", timestampAuthorities: [{path: tsa-root.pem}]}
images:
  - {name: plain, match: [REGISTRY/acme/plain], signedBy: [plain]}
  - {name: stamped, match: [REGISTRY/acme/stamped], signedBy: [stamped]}
  - {name: not-in-notation-policy, match: ["**"], deny: no notation trust policy statement covers this repository}
`
	notationCLIPolicy = `{"version": "1.0", "trustPolicies": [
 {"name": "plain", "registryScopes": ["REGISTRY/acme/plain"], "signatureVerification": {"level": "strict"},
  "trustStores": ["ca:acme"], "trustedIdentities": ["x509.subject: SUBJECT"]},
 {"name": "stamped", "registryScopes": ["REGISTRY/acme/stamped"], "signatureVerification": {"level": "strict"},
  "trustStores": ["ca:acme", "tsa:stack"], "trustedIdentities": ["x509.subject: SUBJECT"]}
]}`
	// otherSubject is the subject the "other" trust pins: same CA, not the signer.
	otherSubject = "CN=someone-else,O=Acme,L=Seattle,ST=WA,C=US"
)

// TestNotationCLIInterop holds signet's Notation support to the Notary
// Project's own CLI (notation v1.3.2) on the stack's real registry and
// timestamp authority, both ways, each under a trust that pins the signer
// (release) and one that pins another subject of the same CA (other):
// what `notation sign` writes (JWS, COSE, COSE timestamped) `sign verify`
// decides as notation's trust policy says; what `sign image --notation-*`
// writes `notation verify` accepts or refuses likewise; and the trust file
// `sign policy import` makes of notation's own configuration (its
// trust policy and the trust store `notation cert add` wrote)
// gives notation's verdict and reason on every image.
func TestNotationCLIInterop(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	t0 := time.Now()
	s := stack.New(t, stack.Options{Registry: true, TSA: true, TSAChain: true})
	w := newNotationInterop(t, s)
	t.Logf("stack and notation configuration ready in %s", time.Since(t0).Round(time.Millisecond))

	t.Run("notation sign, sign verify", func(t *testing.T) {
		for _, c := range []struct {
			name, repo, tag, envelope string
			args                      []string
		}{
			{"JWS", "plain", "cli-jws", ocisig.NotationJWSMediaType, []string{"--signature-format", "jws"}},
			{"COSE", "plain", "cli-cose", ocisig.NotationCOSEMediaType, []string{"--signature-format", "cose"}},
			{"COSE timestamped by the stack's TSA", "stamped", "cli-cose", ocisig.NotationCOSEMediaType,
				[]string{"--signature-format", "cose", "--timestamp-url", s.TSA.TimestampURL(), "--timestamp-root-cert", w.tsaRoot}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ref := w.push(t, c.repo, c.tag)
				w.cli["release"].Sign(t, ref, "release", c.args...)
				d, code := signVerify(t, w.trust["release"], ref)
				if code != 0 || len(d.Signatures) != 1 {
					t.Fatalf("sign verify under the signer's subject: exit %d %v", code, d.Messages())
				}
				sig := d.Signatures[0]
				if sig.Layout != ocisig.LayoutNotation || sig.Envelope != c.envelope || sig.Subject != notationtest.SubjectDN || sig.Revocation != "good" {
					t.Fatalf("accepted signature %+v, want a %s Notation signature by %s, revocation good", sig, c.envelope, notationtest.SubjectDN)
				}
				if wantTS := c.repo == "stamped"; (len(sig.Timestamps) == 1) != wantTS {
					t.Fatalf("timestamps %+v, want one: %v", sig.Timestamps, wantTS)
				}
				d, code = signVerify(t, w.trust["other"], ref)
				wrongSubject(t, d, code)
			})
		}
	})

	t.Run("sign image, notation verify", func(t *testing.T) {
		for _, c := range []struct {
			name, repo, tag string
			args            []string
		}{
			{"JWS", "plain", "signet-jws", []string{"--notation-envelope", "jws"}},
			{"COSE", "plain", "signet-cose", []string{"--notation-envelope", "cose"}},
			{"JWS timestamped by the stack's TSA", "stamped", "signet-jws",
				[]string{"--notation-timestamp-url", s.TSA.TimestampURL(), "--notation-timestamp-root", w.tsaRoot}},
		} {
			t.Run(c.name, func(t *testing.T) {
				ref := w.push(t, c.repo, c.tag)
				w.signetSign(t, ref, "release", c.args...)
				if out, err := w.cli["release"].Verify(t.Context(), ref); err != nil || !strings.Contains(out, "Successfully verified signature for "+ref) {
					t.Fatalf("notation verify under the signer's subject: %v\n%s", err, out)
				}
				out, err := w.cli["other"].Verify(t.Context(), ref)
				if err == nil || !strings.Contains(out, "does not match the X.509 trusted identities") || !strings.Contains(out, "someone-else") {
					t.Fatalf("notation verify under another subject: %v, want a refusal naming the trusted identity\n%s", err, out)
				}
			})
		}
	})

	// What no case above signed: another subject of the same CA (by
	// signet), a signature without the timestamp its rule requires (by
	// notation), an unsigned image, a repository no statement covers.
	w.signetSign(t, w.push(t, "plain", "intruder"), "intruder")
	w.cli["release"].Sign(t, w.push(t, "stamped", "no-timestamp"), "release")
	w.push(t, "plain", "unsigned")
	w.cli["release"].Sign(t, w.push(t, "elsewhere", "cli"), "release")

	t.Run("the imported notation policy decides as notation verify", func(t *testing.T) {
		const wrongID, noTime, unsigned, uncovered = verify.CodeWrongIdentity, verify.CodeNoTrustedTime, verify.CodeNoSignature, verify.CodeDeniedByRule
		// notation's verdict under the release and the other configuration:
		// "" admits, a code names the refusal.
		want := map[string][2]verify.ReasonCode{
			"plain:cli-jws": {"", wrongID}, "plain:cli-cose": {"", wrongID}, "stamped:cli-cose": {"", wrongID},
			"plain:signet-jws": {"", wrongID}, "plain:signet-cose": {"", wrongID}, "stamped:signet-jws": {"", wrongID},
			"plain:intruder": {wrongID, wrongID}, "stamped:no-timestamp": {noTime, wrongID},
			"plain:unsigned": {unsigned, unsigned}, "elsewhere:cli": {uncovered, uncovered},
		}
		if len(want) != len(w.images) {
			t.Fatalf("%d images pushed, %d expected verdicts", len(w.images), len(want))
		}
		v := verify.New()
		for i, who := range []string{"release", "other"} {
			p := w.imported(t, who)
			for _, img := range w.images {
				t.Run(who+"/"+img.name, func(t *testing.T) {
					out, err := w.cli[who].Verify(t.Context(), img.ref)
					allowed, code := notationVerdict(t, out, err)
					if exp := want[img.name][i]; allowed != (exp == "") || code != exp {
						t.Fatalf("notation verify: allowed=%v %q, this test expects %q:\n%s", allowed, code, exp, out)
					}
					d := v.Verify(context.Background(), img.ref, p)
					if d.Allowed != allowed || (!allowed && !d.Has(code)) {
						t.Fatalf("signet under the imported policy: allowed=%v %v; notation verify: allowed=%v (%s)\n%s", d.Allowed, d.Messages(), allowed, code, out)
					}
				})
			}
		}
	})
	t.Logf("TestNotationCLIInterop took %s", time.Since(t0).Round(time.Millisecond))
}

// wrongSubject asserts a denial of the signer's subject that names the
// subject the trust file pins and the one the certificate has.
func wrongSubject(t *testing.T, d *verify.Decision, code int) {
	const field = "notation.subject"
	t.Helper()
	if code != 1 || d.Allowed {
		t.Fatalf("another subject: exit %d, allowed %v", code, d.Allowed)
	}
	for _, r := range d.Reasons {
		if r.Code == verify.CodeWrongIdentity && r.Field == field && strings.Contains(r.Expected, "someone-else") && strings.Contains(r.Actual, "release") {
			return
		}
	}
	t.Fatalf("want %s naming the pinned and the actual subject (%s), got %+v", verify.CodeWrongIdentity, field, d.Reasons)
}

// notationVerdicts read `notation verify --verbose`'s account of a refusal
// as the signet reason code that says the same.
var notationVerdicts = []struct {
	says string
	code verify.ReasonCode
}{
	{"does not match the X.509 trusted identities", verify.CodeWrongIdentity},
	{"no timestamp countersignature was found", verify.CodeNoTrustedTime},
	{"no signature is associated with", verify.CodeNoSignature},
	{"has no applicable trust policy", verify.CodeDeniedByRule},
}

// notationVerdict is notation's verdict on an image and, for a refusal,
// the reason code it amounts to; output it cannot read fails the test.
func notationVerdict(t *testing.T, out string, err error) (bool, verify.ReasonCode) {
	t.Helper()
	if err == nil {
		if !strings.Contains(out, "Successfully verified signature for") {
			t.Fatalf("notation verify exited 0 without saying it verified:\n%s", out)
		}
		return true, ""
	}
	for _, v := range notationVerdicts {
		if strings.Contains(out, v.says) {
			return false, v.code
		}
	}
	t.Fatalf("notation verify refused for a reason this test does not know: %v", err)
	return false, ""
}

// notationInterop is one CA's signers (release and an intruder, files a
// signer reads), the stack TSA's root, and for each pinned subject
// (release, other) a signet trust file and a notation configuration that
// say the same; images lists every image pushed.
type notationInterop struct {
	s       *stack.Stack
	dir     string
	tsaRoot string
	trust   map[string]string
	cli     map[string]*stack.NotationHome
	images  []notationImage
}

// notationImage is a pushed image: "repo:tag" under acme/, and its digest
// reference.
type notationImage struct{ name, ref string }

func newNotationInterop(t *testing.T, s *stack.Stack) *notationInterop {
	w := &notationInterop{s: s, dir: t.TempDir(), trust: map[string]string{}, cli: map[string]*stack.NotationHome{}}
	ca := notationtest.NewCA(t, "Acme")
	tsaChain, err := policy.ParseCertificates(s.TSA.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	caRoot := filepath.Join(w.dir, "acme-root.pem")
	w.tsaRoot = filepath.Join(w.dir, "tsa-root.pem")
	write(t, caRoot, ca.RootPEM())
	write(t, w.tsaRoot, notationtest.PEM(tsaChain[len(tsaChain)-1]))
	intruder := notationtest.Subject
	intruder.CommonName = "intruder"
	bin := stack.NotationCLI(t)
	for who, subject := range map[string]string{"release": notationtest.SubjectDN, "other": otherSubject} {
		repl := strings.NewReplacer("REGISTRY", s.Registry.Host, "SUBJECT", subject)
		w.trust[who] = filepath.Join(w.dir, who+".yaml")
		write(t, w.trust[who], []byte(repl.Replace(notationCLITrust)))
		h := stack.NewNotationHome(t, bin)
		h.AddCert(t, "ca", "acme", caRoot)
		h.AddCert(t, "tsa", "stack", w.tsaRoot)
		h.ImportPolicy(t, []byte(repl.Replace(notationCLIPolicy)))
		w.cli[who] = h
	}
	for name, l := range map[string]*notationtest.Leaf{"release": ca.Leaf(t), "intruder": ca.Leaf(t, notationtest.WithSubject(intruder))} {
		key, chain := filepath.Join(w.dir, name+".key"), filepath.Join(w.dir, name+".crt")
		write(t, key, l.KeyPEM(t))
		write(t, chain, notationtest.PEM(l.Chain...))
		w.cli["release"].AddKey(t, name, key, chain)
	}
	return w
}

// push pushes a fresh image to acme/<repo>:<tag> and records it.
func (w *notationInterop) push(t *testing.T, repo, tag string) string {
	ref := push(t, w.s.Registry.Host+"/acme/"+repo+":"+tag).String()
	w.images = append(w.images, notationImage{name: repo + ":" + tag, ref: ref})
	return ref
}

// imported is the trust file `sign policy import` makes of who's notation
// configuration: the trust policy and the trust store `notation cert add`
// wrote beside it.
func (w *notationInterop) imported(t *testing.T, who string) *policy.Policy {
	t.Helper()
	dir := t.TempDir()
	stdout, stderr, code := runSignCLI(t, nil, "policy", "import", "--dir", dir, w.cli[who].TrustPolicyPath())
	if code != 0 {
		t.Fatalf("sign policy import of %s's notation configuration: exit %d\n%s\n%s", who, code, stdout, stderr)
	}
	p, err := policy.LoadFile(filepath.Join(dir, "trust.yaml"))
	if err != nil {
		t.Fatalf("the trust file imported from %s's notation configuration does not load: %v", who, err)
	}
	return p
}

// signetSign signs ref with Notation only, with signer's key and chain.
func (w *notationInterop) signetSign(t *testing.T, ref, signer string, args ...string) {
	t.Helper()
	args = append([]string{"image", "--sigstore=false", "--notation-key", filepath.Join(w.dir, signer+".key"),
		"--notation-cert", filepath.Join(w.dir, signer+".crt")}, args...)
	if stdout, stderr, code := runSignCLI(t, nil, append(args, ref)...); code != 0 {
		t.Fatalf("sign image %s: exit %d\n%s\n%s", ref, code, stdout, stderr)
	}
}
