package verify_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/dir"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/notationtest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const notationBenchPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - name: acme-release
    notation:
      certificateAuthorities: [{path: acme-root.pem}]
      subjectAttributes: {C: US, ST: WA, O: Acme, CN: release}
images:
  - match: [REGISTRY/**]
    signedBy: [acme-release]
`

// BenchmarkNotationSideBySide: the same work, verifying the Notation
// signature of acme/app:1 (JWS, the CA's OCSP responder on loopback
// consulted for the leaf), by signet's engine and by notation-go's
// notation.Verify (the notation CLI's code path) under the equivalent
// strict trust policy, against the same loopback registry and image, in
// one run. Each reports ns/op, requests/op, conns/op and ocsp/op (OCSP
// requests); signet's also speedup-notation (notation-go's ns/op in this
// run over signet's). notation-go reads its trust store from disk on every
// verification, as the CLI does; its verifier is built once, as a
// long-running process would. One signet Verifier for the run, as the
// webhook has: it keeps the chain's revocation status for
// RevocationStatusTTL and the integrity check of an envelope it has seen,
// so signet/ makes no OCSP request and no ECDSA verification after the
// first (anchors, subject, validity and revocation status are still
// evaluated each time); signet-uncached-revocation asks the responder
// every time, as notation-go does; signet-cold is a new Verifier for each
// verification (its first ping included): nothing is remembered, the work
// notation-go does, less the listing and the resolve of a digest
// reference it does not need.
func BenchmarkNotationSideBySide(b *testing.B) {
	c := &testworld.Counter{}
	w := testworld.New(b, testworld.Options{Counter: c})
	ca := notationtest.NewCA(b, "Acme")
	writeBenchFile(b, filepath.Join(w.Dir, "acme-root.pem"), ca.RootPEM())
	w.SetPolicy(notationBenchPolicy)
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	d := w.Push("acme/app:1")
	notationtest.Attach(b, d, d, ca.Leaf(b), notationtest.SignOptions{})

	// notation's configuration directory: truststore/x509/ca/acme/root.pem.
	cfg := b.TempDir()
	writeBenchFile(b, filepath.Join(cfg, "truststore", "x509", "ca", "acme", "root.pem"), ca.RootPEM())
	doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
		Name: "acme", RegistryScopes: []string{w.Ref("acme/app")},
		SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: trustpolicy.LevelStrict.Name},
		TrustStores:           []string{"ca:acme"}, TrustedIdentities: []string{"x509.subject: C=US, ST=WA, O=Acme, CN=release"},
	}}}
	nv, err := verifier.New(doc, truststore.NewX509TrustStore(dir.NewSysFS(cfg)), nil)
	if err != nil {
		b.Fatal(err)
	}
	repo := notationtest.Repository(b, w.Ref("acme/app"))
	ctx := context.Background()

	nsPerOp := map[string]float64{}
	run := func(impl string, op func() error) {
		b.Run(impl, func(b *testing.B) {
			w.Server.CloseClientConnections()
			runtime.GC()
			if err := op(); err != nil { // warm: one process's first call
				b.Fatal(err)
			}
			c.Reset()
			ocsp := ca.Revocation.OCSPRequests.Load()
			b.ResetTimer()
			for b.Loop() {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			n := float64(b.N)
			ns := float64(b.Elapsed().Nanoseconds()) / n
			nsPerOp[impl] = ns
			b.ReportMetric(float64(c.Requests())/n, "requests/op")
			b.ReportMetric(float64(c.Conns())/n, "conns/op")
			b.ReportMetric(float64(ca.Revocation.OCSPRequests.Load()-ocsp)/n, "ocsp/op")
			if other := nsPerOp["notation-go"]; strings.HasPrefix(impl, "signet") && other > 0 {
				b.ReportMetric(other/ns, "speedup-notation")
			}
		})
	}
	run("notation-go", func() error {
		_, _, err := notation.Verify(ctx, nv, repo, notation.VerifyOptions{ArtifactReference: d.String(), MaxSignatureAttempts: 50})
		return err
	})
	for _, impl := range []string{"signet", "signet-uncached-revocation", "signet-cold"} {
		v := verify.New()
		if impl == "signet-uncached-revocation" {
			v = verify.New(verify.WithRevocationChecker(uncachedRevocation{}))
		}
		run(impl, func() error {
			if impl == "signet-cold" {
				v = verify.New()
			}
			if dec := v.Verify(ctx, d.String(), p); !dec.Allowed {
				return fmt.Errorf("%s: not allowed: %v", impl, dec.Messages())
			}
			return nil
		})
	}
}

// uncachedRevocation asks the responders on every check, as notation-go
// does.
type uncachedRevocation struct{}

func (uncachedRevocation) Check(ctx context.Context, req verify.RevocationRequest) verify.RevocationStatus {
	return verify.NewOCSPCRLChecker().Check(ctx, req)
}

func writeBenchFile(b testing.TB, path string, data []byte) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}
