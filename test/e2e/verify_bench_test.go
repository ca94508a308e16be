package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/stack"
)

const verifyBenchPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: TRUSTED_ROOT}
identities:
  - name: release-key
    key: {path: KEY_PUB}
images:
  - match: [REGISTRY/**]
    signedBy: [release-key]
    provenance: {required: true, sourceRefs: [refs/heads/main]}
`

// verifyWorld is the stack's registry holding acme/legacy:1 and
// acme/bundle:1, each signed and attested with one key in its layout, and
// a trust file that requires both.
type verifyWorld struct {
	pub, root, policy string
	images            map[ocisig.Layout]string
	// host is the registry's, signer the key's.
	host   string
	signer *sigstoretest.Signer
}

func newVerifyWorld(b *testing.B) *verifyWorld {
	s := stack.New(b, stack.Options{Registry: true})
	dir := b.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := filepath.Join(dir, "cosign.pub")
	ss, err := sigstoretest.New()
	if err != nil {
		b.Fatal(err)
	}
	rootJSON, err := ss.TrustedRootJSON()
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(dir, "trusted_root.json")
	for p, data := range map[string][]byte{pub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), root: rootJSON} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	policyPath := filepath.Join(dir, "trust.yaml")
	pol := strings.NewReplacer("TRUSTED_ROOT", root, "KEY_PUB", pub, "REGISTRY", s.Registry.Host).Replace(verifyBenchPolicy)
	if err := os.WriteFile(policyPath, []byte(pol), 0o644); err != nil {
		b.Fatal(err)
	}
	signer, err := ss.KeySigner(key, sigstoretest.WithoutTlog())
	if err != nil {
		b.Fatal(err)
	}
	images := map[ocisig.Layout]string{}
	for _, layout := range []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle} {
		images[layout] = signedAndAttested(b, signer, s.Registry.Host+"/acme/"+string(layout)+":1", layout)
	}
	return &verifyWorld{pub: pub, root: root, policy: policyPath, images: images, host: s.Registry.Host, signer: signer}
}

// BenchmarkVerifyProcesses: verifying a key-signed image and its SLSA v1
// attestation as whole processes, the way a CI step or a shell does, on
// the stack's distribution registry (loopback, no referrers API: bundles
// are found through the referrers tag). cosign needs two processes
// (`verify` then `verify-attestation --type slsaprovenance1`); `sign
// verify` one, which also checks the provenance's source ref.
func BenchmarkVerifyProcesses(b *testing.B) {
	vw := newVerifyWorld(b)
	vw.compareProcesses(b, vw.images, vw.policy, "slsaprovenance1")
}

// compareProcesses benchmarks, for each image (by layout), cosign v2 and
// v3 `verify` followed by one `verify-attestation --type` per attestation
// type against `sign verify --policy policyPath`, as whole processes.
// signet's sub-benchmarks report speedup-v2 and speedup-v3: cosign's ns/op
// for the same layout in this run over signet's; the cosign ones run first.
func (vw *verifyWorld) compareProcesses(b *testing.B, images map[ocisig.Layout]string, policyPath string, types ...string) {
	bins := map[string]string{"cosign-v2": stack.CosignV2(b), "cosign-v3": stack.CosignV3(b)}
	env := stack.CosignEnv(b)
	nsPerOp := map[string]float64{}
	run := func(impl string, layout ocisig.Layout, op func(image string) error) {
		b.Run(impl+"/"+string(layout), func(b *testing.B) {
			for b.Loop() {
				if err := op(images[layout]); err != nil {
					b.Fatal(err)
				}
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			nsPerOp[impl+"/"+string(layout)] = ns
			if impl == "signet" {
				for _, v := range []string{"v2", "v3"} {
					if other := nsPerOp["cosign-"+v+"/"+string(layout)]; other > 0 {
						b.ReportMetric(other/ns, "speedup-"+v)
					}
				}
			}
		})
	}
	cosign := func(impl string, extra ...string) func(image string) error {
		return func(image string) error {
			common := append([]string{"--key=" + vw.pub, "--insecure-ignore-tlog"}, extra...)
			if _, err := stack.RunCosign(b.Context(), bins[impl], env, append(append([]string{"verify"}, common...), image)...); err != nil {
				return err
			}
			for _, typ := range types {
				if _, err := stack.RunCosign(b.Context(), bins[impl], env, append(append([]string{"verify-attestation", "--type=" + typ}, common...), image)...); err != nil {
					return fmt.Errorf("verify-attestation --type %s: %w", typ, err)
				}
			}
			return nil
		}
	}
	run("cosign-v2", ocisig.LayoutLegacy, cosign("cosign-v2"))
	run("cosign-v3", ocisig.LayoutLegacy, cosign("cosign-v3", "--trusted-root="+vw.root))
	run("cosign-v3", ocisig.LayoutBundle, cosign("cosign-v3", "--trusted-root="+vw.root))
	for _, layout := range []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle} {
		run("signet", layout, func(image string) error {
			out, err := exec.CommandContext(b.Context(), signBin, "verify", "--policy", policyPath, image).CombinedOutput()
			if err != nil {
				return fmt.Errorf("sign verify %s: %w\n%s", image, err, out)
			}
			return nil
		})
	}
}

// signedAndAttested pushes ref and attaches, in layout, signer's signature
// and SLSA v1 provenance from acme/app's release workflow on main.
func signedAndAttested(b *testing.B, signer *sigstoretest.Signer, ref string, layout ocisig.Layout) string {
	b.Helper()
	d := push(b, ref)
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st := sigstoretest.Statement(h, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main")))
	if layout == ocisig.LayoutLegacy {
		sig, err := signer.SignLegacy(sigstoretest.SimpleSigning(d))
		if err != nil {
			b.Fatal(err)
		}
		att, err := signer.AttestLegacy(st, policy.SLSAProvenanceV1)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range []ocisig.Legacy{sig, att} {
			if err := ocisig.WriteLegacy(ctx, d, []ocisig.Legacy{l}); err != nil {
				b.Fatal(err)
			}
		}
		return ref
	}
	for pt, statement := range map[string][]byte{ocisig.CosignSignPredicateType: sigstoretest.Statement(h, ocisig.CosignSignPredicateType, nil), policy.SLSAProvenanceV1: st} {
		bundle, err := signer.SignBundle(statement)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ocisig.WriteBundle(ctx, d, bundle, pt); err != nil {
			b.Fatal(err)
		}
	}
	return ref
}
