package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
)

// BenchmarkVerifyAttestedProcesses: one verification of a key-signed image
// with SLSA provenance, a 1 MB SBOM (syft-shaped CycloneDX) and a Trivy
// scan, as whole processes on the stack's registry: `sign verify` (one
// process, which also evaluates the three conditions) against cosign
// `verify` + `verify-attestation --type slsaprovenance1|cyclonedx|vuln`
// (four processes); the trust file is testworld.KeyAttestedPolicy. cosign
// checks signatures and types; the conditions are signet's alone.
func BenchmarkVerifyAttestedProcesses(b *testing.B) {
	vw := newVerifyWorld(b)
	// Beside the world's trust file: cosign.pub and trusted_root.json resolve.
	policyPath := filepath.Join(filepath.Dir(vw.policy), "attested.yaml")
	if err := os.WriteFile(policyPath, []byte(strings.ReplaceAll(testworld.KeyAttestedPolicy, "REGISTRY", vw.host)), 0o644); err != nil {
		b.Fatal(err)
	}
	images := map[ocisig.Layout]string{}
	for _, layout := range []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle} {
		images[layout] = attestedWithSBOMAndScan(b, vw.signer, vw.host+"/acme/attested-"+string(layout)+":1", layout)
	}
	vw.compareProcesses(b, images, policyPath, "slsaprovenance1", "cyclonedx", "vuln")
}

// attestedWithSBOMAndScan is signedAndAttested plus a 1 MB SBOM and a scan
// report, attested by signer in layout.
func attestedWithSBOMAndScan(b *testing.B, signer *sigstoretest.Signer, ref string, layout ocisig.Layout) string {
	b.Helper()
	signedAndAttested(b, signer, ref, layout)
	tag, err := name.NewTag(ref)
	if err != nil {
		b.Fatal(err)
	}
	desc, err := remote.Head(tag)
	if err != nil {
		b.Fatal(err)
	}
	d := tag.Context().Digest(desc.Digest.String())
	h, err := v1.NewHash(d.DigestStr())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for pt, pred := range map[string]any{policy.PredicateCycloneDX: testworld.RealisticBOM(1 << 20), policy.PredicateVuln: testworld.RealisticScan(300)} {
		st := sigstoretest.Statement(h, pt, pred)
		if layout == ocisig.LayoutLegacy {
			att, err := signer.AttestLegacy(st, pt)
			if err != nil {
				b.Fatal(err)
			}
			if err := ocisig.WriteLegacy(ctx, d, []ocisig.Legacy{att}); err != nil {
				b.Fatal(err)
			}
			continue
		}
		bundle, err := signer.SignBundle(st)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ocisig.WriteBundle(ctx, d, bundle, pt); err != nil {
			b.Fatal(err)
		}
	}
	return ref
}
