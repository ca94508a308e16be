// Command demo is `make demo`: the signet story on this machine with no
// cluster, cloud account or Docker. In-process it starts an OCI registry,
// builds a tiny image without a daemon and pushes it; generates a
// cosign-compatible key pair; signs the digest and attests SLSA provenance
// with signet's signing library (preflight, both layouts, post-check);
// decides the images with the engine `sign verify` uses; then sends
// AdmissionReviews for a signed pod, an unsigned pod and a pod signed by the
// wrong identity through the real enforce HTTPS handler, printing each
// answer with its reason and the pinned digest.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/testworld"
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
	fmt.Println("\ndemo OK: the signed pod is admitted with its digest pinned; the unsigned and the wrongly signed pods are denied, each with its reason.")
}

func step(n int, format string, args ...any) {
	fmt.Printf("\n[%d] %s\n", n, fmt.Sprintf(format, args...))
}

func run(env *env) error {
	defer env.close()
	start := time.Now()
	ctx := context.Background()

	step(1, "starting an OCI registry in-process (OCI 1.1 referrers API on)")
	w := testworld.New(env, testworld.Options{Policy: "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{match: ['**'], deny: placeholder}]\n"})
	fmt.Printf("    registry %s\n", w.Registry)

	step(2, "generating a cosign-compatible key pair (the release key) and writing trust.yaml")
	release, err := newKey(w.Dir, "release")
	if err != nil {
		return err
	}
	attacker, err := newKey(w.Dir, "attacker")
	if err != nil {
		return err
	}
	w.SetPolicy(strings.ReplaceAll(demoPolicy, "RELEASE_PUB", release.pub))
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		return err
	}
	fmt.Printf("    %s (policy %s)\n", w.PolicyPath, p.Hash)

	step(3, "building a tiny image without a Docker daemon and pushing it")
	img, err := tinyImage("hello from signet\n")
	if err != nil {
		return err
	}
	w.PushImage("acme/app:1.0", img)
	w.Push("acme/app:unsigned")
	w.Push("acme/app:tampered")
	fmt.Printf("    pushed %s, %s, %s\n", w.Ref("acme/app:1.0"), w.Ref("acme/app:unsigned"), w.Ref("acme/app:tampered"))

	step(4, "signing the digest and attesting SLSA v1 provenance with the release key (preflight, both layouts, post-check)")
	res, err := signAndAttest(ctx, release.kp, w.Ref("acme/app:1.0"), p)
	if err != nil {
		return err
	}
	fmt.Printf("    signed %s (%d signatures, %d attestations); post-check: %s\n", res.Pinned, len(res.Signed), len(res.Attested), res.Decision.Verdict())

	step(5, "an attacker tries to sign acme/app:tampered with another key")
	if _, err := signAndAttest(ctx, attacker.kp, w.Ref("acme/app:tampered"), p); !errors.Is(err, sign.ErrPreflight) {
		return fmt.Errorf("preflight did not refuse the attacker's key before pushing: %v", err)
	}
	fmt.Println("    preflight refused it before touching the registry; the attacker signs anyway, skipping preflight:")
	if _, err := sign.Run(ctx, mustSession(attacker.kp), sign.Request{Image: w.Ref("acme/app:tampered"), Format: sign.FormatBoth, Sign: true}); err != nil {
		return err
	}

	step(6, "deciding each image with the engine `sign verify` uses")
	v := verify.New()
	images := []string{w.Ref("acme/app:1.0"), w.Ref("acme/app:unsigned"), w.Ref("acme/app:tampered")}
	for i, image := range images {
		d := v.Verify(ctx, image, p)
		var b strings.Builder
		_ = d.WriteText(&b)
		fmt.Print("\n" + indent(b.String()))
		if d.Allowed != (i == 0) {
			return fmt.Errorf("%s: allowed=%v, expected %v", image, d.Allowed, i == 0)
		}
	}

	step(7, "sending AdmissionReviews for three pods through the real enforce HTTPS handler (TLS, loopback)")
	if err := admitPods(ctx, p, images); err != nil {
		return err
	}

	if keylessAvailable() {
		step(8, "keyless: signing as a GitHub release workflow against the local Fulcio, timestamp authority and Rekor v2")
		if err := keyless(ctx, w); err != nil {
			return err
		}
	} else {
		step(8, "keyless: skipped — the local Sigstore stack is not built yet (`make stack` builds it once, ~15 min)")
	}
	fmt.Printf("\nfinished in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

const demoPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: release-key
    key: {path: RELEASE_PUB}
images:
  - name: acme-apps
    match: [REGISTRY/acme/**]
    signedBy: [release-key]
    provenance: {required: true, sourceRefs: [refs/heads/main]}
  - name: default-deny
    match: ["**"]
    deny: only images from approved registries may run
`

type demoKey struct {
	kp  *sign.Keypair
	pub string
}

// newKey generates an encrypted key pair exactly as `sign generate-key-pair`
// does and loads it back from disk.
func newKey(dir, name string) (*demoKey, error) {
	password := []byte("demo-password")
	priv, pub, err := sign.GenerateKeyPair(password)
	if err != nil {
		return nil, err
	}
	keyPath, pubPath := filepath.Join(dir, name+".key"), filepath.Join(dir, name+".pub")
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		return nil, err
	}
	kp, err := sign.LoadKey(keyPath, password)
	if err != nil {
		return nil, err
	}
	return &demoKey{kp: kp, pub: pubPath}, nil
}

func mustSession(kp *sign.Keypair) *sign.Session {
	s, err := sign.NewSession(sign.Config{Key: kp})
	if err != nil {
		panic(err) // a key session needs no network; it cannot fail here
	}
	return s
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
