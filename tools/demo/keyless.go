package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// keylessAvailable reports whether the local Sigstore's servers are already
// built (make stack); the demo never spends minutes building them.
func keylessAvailable() bool {
	dir, err := stack.CacheDir()
	if err != nil {
		return false
	}
	for _, t := range []stack.Tool{stack.ToolFulcio, stack.ToolTSA, stack.ToolRekor} {
		if _, err := os.Stat(filepath.Join(dir, t.Name+"-"+t.Version)); err != nil {
			return false
		}
	}
	return true
}

const keylessPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore:
  trustedRoot: TRUSTED_ROOT
  transparencyLog: required          # Rekor v2 inclusion proof
  certificateTransparency: optional  # the local Fulcio has no CT log
identities:
  - name: app-release
    keyless:
      issuer: ISSUER
      ci: github
      repository: acme/app
      workflow: .github/workflows/release.yml
      refs: [refs/heads/main]
images:
  - {name: acme-apps, match: [REGISTRY/acme/**], signedBy: [app-release]}
  - {name: default-deny, match: ["**"], deny: only images from approved registries may run}
`

// keyless signs keylessly as a GitHub release workflow against a real local
// Fulcio, timestamp authority and Rekor v2, and verifies the result.
func keyless(ctx context.Context, w *testworld.World) error {
	s, err := stack.Start(ctx, stack.Options{OIDC: true, Fulcio: true, TSA: true, Rekor: true, Logf: func(string, ...any) {}})
	if err != nil {
		return fmt.Errorf("starting the local Sigstore: %w", err)
	}
	defer s.Close()
	token, err := s.OIDC.MintGitHub(stack.DefaultGitHubClaims())
	if err != nil {
		return err
	}
	sess, err := sign.NewSession(sign.Config{IDToken: token, FulcioURL: s.Fulcio.URL,
		TSAURLs: []string{s.TSA.TimestampURL()}, Rekor: []sign.Rekor{{URL: s.Rekor.URL, Version: 2}}})
	if err != nil {
		return err
	}
	w.Push("acme/app:keyless")
	res, err := sign.Run(ctx, sess, sign.Request{Image: w.Ref("acme/app:keyless"), Format: sign.FormatBoth, Sign: true})
	if err != nil {
		return err
	}
	fmt.Printf("    Fulcio issued a certificate for the GitHub-shaped token; signed %s\n", res.Pinned)
	text := strings.NewReplacer("TRUSTED_ROOT", s.TrustedRootPath, "ISSUER", s.OIDC.GitHubIssuer, "REGISTRY", w.Registry).Replace(keylessPolicy)
	p, err := policy.Parse([]byte(text))
	if err != nil {
		return err
	}
	d := verify.New().Verify(ctx, w.Ref("acme/app:keyless"), p)
	var b strings.Builder
	_ = d.WriteText(&b)
	fmt.Print("\n" + indent(b.String()))
	if !d.Allowed {
		return fmt.Errorf("the keyless signature was denied: %v", d.Reasons)
	}
	return nil
}
