// Command demo is `make demo`: the signet story on this machine with no
// cluster, cloud account or Docker. It starts a registry and a private
// Sigstore in-process, builds and pushes a tiny image, signs it and attests
// SLSA provenance as a GitHub release workflow would, then decides three
// images with the verification engine `sign verify` and `enforce` share.
//
// Today it covers build -> push -> sign -> attest -> verify; the `sign`
// CLI and the admission webhook join the story as they land.
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/signet-dev/signet/internal/sigstoretest"
	"github.com/signet-dev/signet/internal/testworld"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func main() {
	env := newEnv()
	defer env.close()
	if err := run(env); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		env.close()
		os.Exit(1)
	}
	fmt.Println("\ndemo OK: the signed image is allowed, the unsigned and the wrongly signed images are denied, each with its reason.")
}

func run(env *env) error {
	defer env.close()
	start := time.Now()
	step := func(n int, format string, args ...any) { fmt.Printf("\n[%d] %s\n", n, fmt.Sprintf(format, args...)) }

	step(1, "starting an OCI registry and a private Sigstore (Fulcio CA, Rekor log, CT log, TSA) in-process")
	w := testworld.New(env, testworld.Options{Policy: demoPolicy})
	fmt.Printf("    registry %s, trust policy %s\n", w.Registry, w.PolicyPath)

	step(2, "building a tiny image without a Docker daemon and pushing it")
	img, err := tinyImage("hello from signet\n")
	if err != nil {
		return err
	}
	app := w.PushImage("acme/app:1.0", img)
	fmt.Printf("    pushed %s\n", app)

	step(3, "signing the digest and attesting SLSA v1 provenance as acme/app's release workflow on refs/heads/main")
	ci := w.GitHub("acme/app", "refs/heads/main")
	w.Sign(app, app, ci, ocisig.LayoutBundle)
	w.Sign(app, app, ci, ocisig.LayoutLegacy)
	w.Attest(app, app, ci, ocisig.LayoutBundle, policy.SLSAProvenanceV1, sigstoretest.SLSAv1GitHub(ci.Identity()))
	fmt.Printf("    identity %s\n", ci.Identity().SAN)

	step(4, "pushing an unsigned image and one signed by acme-evil/app (same workflow file, other repository)")
	w.Push("acme/app:unsigned")
	evil := w.Push("acme/app:evil")
	w.Sign(evil, evil, w.GitHub("acme-evil/app", "refs/heads/main"), ocisig.LayoutBundle)

	step(5, "deciding each image with the engine `sign verify` and the enforce webhook share")
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		return err
	}
	v := verify.New()
	for _, c := range []struct {
		image string
		allow bool
	}{
		{w.Ref("acme/app:1.0"), true},
		{w.Ref("acme/app:unsigned"), false},
		{w.Ref("acme/app:evil"), false},
	} {
		d := v.Verify(context.Background(), c.image, p)
		fmt.Println()
		var b strings.Builder
		_ = d.WriteText(&b)
		fmt.Print(indent(b.String()))
		if d.Allowed != c.allow {
			return fmt.Errorf("%s: allowed=%v, expected %v", c.image, d.Allowed, c.allow)
		}
	}
	fmt.Printf("\nfinished in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

const demoPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: trusted_root.json     # the demo's private Sigstore
identities:
  - name: app-release
    keyless:
      issuer: https://token.actions.githubusercontent.com
      repository: acme/app
      workflow: .github/workflows/release.yml
      refs: [refs/heads/main, refs/tags/v*]
images:
  - name: acme-apps
    match: [REGISTRY/acme/**]
    signedBy: [app-release]
    provenance: {required: true, sourceMatchesSigner: true}
  - name: default-deny
    match: ["**"]
    deny: only images from approved registries may run
`

// tinyImage is a one-file image built in memory: no daemon, no base image.
func tinyImage(content string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, layer)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
