package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/stack"
)

const notationWebhookPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-notation
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subject: "` + notationtest.SubjectDN + `"
      timestampAuthorities: [{path: tsa-root.pem}]
      revocation: {timeout: 1s}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [acme-notation]}
  - {name: default-deny, match: ["**"], deny: only approved registries may run}
`

// TestNotationThroughTheWebhook: `sign image` signs with Notation only,
// timestamped by the real timestamp authority, into the real registry;
// `enforce serve` behind the real kube-apiserver admits that image pinned
// to its digest and denies, with the Notation reason, an image signed by
// another subject, one whose certificate was revoked (the CA's OCSP
// responder on loopback says so), and an unsigned one. `sign verify`
// gives the same decisions.
func TestNotationThroughTheWebhook(t *testing.T) {
	t.Parallel() // main_test.go: which tests run side by side
	s := stack.New(t, stack.Options{Registry: true, Kube: true, TSA: true, TSAChain: true})
	dir := t.TempDir()
	ca := notationtest.NewCA(t, "Acme")
	tsaChain, err := policy.ParseCertificates(s.TSA.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "acme-root.pem"), ca.RootPEM())
	write(t, filepath.Join(dir, "tsa-root.pem"), notationtest.PEM(tsaChain[len(tsaChain)-1]))
	policyPath := writePolicy(t, dir, notationWebhookPolicy, map[string]string{"REGISTRY": s.Registry.Host})

	signWith := func(image string, l *notationtest.Leaf, extra ...string) {
		t.Helper()
		key, chain := filepath.Join(dir, "notation.key"), filepath.Join(dir, "notation.crt")
		write(t, key, l.KeyPEM(t))
		write(t, chain, notationtest.PEM(l.Chain...))
		args := append([]string{"image", "--sigstore=false", "--notation-key", key, "--notation-cert", chain,
			"--notation-timestamp-url", s.TSA.TimestampURL(), "--notation-timestamp-root", filepath.Join(dir, "tsa-root.pem")}, extra...)
		if stdout, stderr, code := runSignCLI(t, nil, append(args, image)...); code != 0 {
			t.Fatalf("sign image %s: exit %d\n%s\n%s", image, code, stdout, stderr)
		}
	}
	signedTag, otherTag, revokedTag, unsignedTag := s.Registry.Host+"/acme/app:1", s.Registry.Host+"/acme/other:1", s.Registry.Host+"/acme/revoked:1", s.Registry.Host+"/acme/unsigned:1"
	signed := push(t, signedTag)
	push(t, otherTag)
	push(t, revokedTag)
	push(t, unsignedTag)
	signWith(signedTag, ca.Leaf(t), "--policy", policyPath) // preflight and post-check with the trust file
	intruder := notationtest.Subject
	intruder.CommonName = "intruder"
	signWith(otherTag, ca.Leaf(t, notationtest.WithSubject(intruder)))
	revoked := ca.Leaf(t)
	signWith(revokedTag, revoked, "--policy", policyPath)
	ca.Revocation.Revoke(revoked)

	cert, certKey, caPEM := servingCert(t, dir)
	port, _ := startEnforce(t, policyPath, cert, certKey, "--kubeconfig", s.Kube.Kubeconfig)
	kc, err := kubernetes.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	createNamespace(t, kc, "prod")
	registerWebhooks(t, kc, port, caPEM)
	waitFor(t, 30*time.Second, "the webhook to be active", func() error {
		_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("probe-"+randSuffix(), nil, []string{unsignedTag}), metav1.CreateOptions{})
		if err == nil {
			return fmt.Errorf("unsigned probe pod admitted")
		}
		if !strings.Contains(err.Error(), "signet denied") {
			return err
		}
		return nil
	})

	t.Run("the Notation-signed pod is admitted pinned to its digest", func(t *testing.T) {
		p, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("signed", nil, []string{signedTag}), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if want := signedTag + "@" + signed.DigestStr(); p.Spec.Containers[0].Image != want {
			t.Fatalf("stored image %q, want %q", p.Spec.Containers[0].Image, want)
		}
	})
	for _, c := range []struct{ name, image, reason string }{
		{"another subject is denied", otherTag, `notation.subject: expected "C=US, CN=release`},
		{"a revoked certificate is denied", revokedTag, "is revoked"},
		{"an unsigned image is denied", unsignedTag, "Notation signature referrers"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := kc.CoreV1().Pods("prod").Create(ctx, testPod("p-"+randSuffix(), nil, []string{c.image}), metav1.CreateOptions{})
			if err == nil || !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("want a denial saying %q, got %v", c.reason, err)
			}
			d, code := signVerify(t, policyPath, c.image)
			if code != 1 || !strings.Contains(strings.Join(d.Messages(), "\n"), c.reason) {
				t.Fatalf("sign verify: exit %d %v, want the webhook's reason", code, d.Messages())
			}
		})
	}
	t.Run("sign verify admits what the webhook admits, with the timestamp", func(t *testing.T) {
		d, code := signVerify(t, policyPath, signedTag)
		if code != 0 || len(d.Signatures) != 1 || len(d.Signatures[0].Timestamps) != 1 || d.Signatures[0].Revocation != "good" {
			t.Fatalf("exit %d: %+v", code, d.Signatures)
		}
	})
}
