package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/background"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const scanBenchPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-key, key: {path: cosign.pub}}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [release-key], provenance: {required: true}}
  - {name: rest, match: ["**"], deny: only approved registries}
enforcement:
  namespaces: {audit: [AUDIT]}
`

// scanBench is 2,000 running pods in 20 namespaces using 200 distinct
// images, each signed and carrying a signed SLSA v1 attestation, on a real
// kube-apiserver, with a loopback registry that counts requests.
type scanBench struct {
	w         *testworld.World
	registry  atomic.Int64
	apiserver atomic.Int64
	cfg       *rest.Config
	kc        kubernetes.Interface
	dyn       dynamic.Interface
}

func newScanBench(b *testing.B) *scanBench {
	sb := &scanBench{}
	sb.w = testworld.New(b, testworld.Options{Policy: strings.ReplaceAll(scanBenchPolicy, "AUDIT", "dev"), Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sb.registry.Add(1); h.ServeHTTP(w, r) })
	}})
	s := stack.New(b, stack.Options{Kube: true})
	adminCfg := rest.CopyConfig(s.Kube.Config)
	adminCfg.QPS, adminCfg.Burst = 1000, 1000 // set-up: no client-side throttling
	admin, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		b.Fatal(err)
	}
	sb.cfg = rest.CopyConfig(s.Kube.Config)
	sb.cfg.QPS, sb.cfg.Burst = 1000, 1000
	sb.cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { sb.apiserver.Add(1); return rt.RoundTrip(r) })
	})
	if sb.kc, err = kubernetes.NewForConfig(sb.cfg); err != nil {
		b.Fatal(err)
	}
	if sb.dyn, err = dynamic.NewForConfig(sb.cfg); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	admDyn, _ := dynamic.NewForConfig(s.Kube.Config)
	if err := stack.InstallCRDs(ctx, admDyn, chartCRDs...); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	s1 := sb.w.KeySigner(nil)
	prov := sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"))
	var images []string
	for i := range 200 {
		d := sb.w.Push(fmt.Sprintf("acme/app%03d:1", i))
		sb.w.Sign(d, d, s1, ocisig.LayoutBundle)
		sb.w.Attest(d, d, s1, ocisig.LayoutBundle, policy.SLSAProvenanceV1, prov)
		images = append(images, d.String())
	}
	b.Logf("200 images signed and attested in %s", time.Since(t0))
	t0 = time.Now()
	for n := range 20 {
		ns := fmt.Sprintf("team-%02d", n)
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		if _, err := admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2000)
	sem := make(chan struct{}, 16)
	for i := range 2000 {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs <- runningBenchPod(ctx, admin, fmt.Sprintf("team-%02d", i%20), fmt.Sprintf("pod-%04d", i), images[i%200])
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("2000 running pods created in %s", time.Since(t0))
	return sb
}

// runningBenchPod creates a pod and reports it running image (repo@digest).
func runningBenchPod(ctx context.Context, kc kubernetes.Interface, ns, podName, image string) error {
	repo, _, _ := strings.Cut(image, "@")
	p, err := kc.CoreV1().Pods(ns).Create(ctx, testPod(podName, nil, []string{repo + ":1"}), metav1.CreateOptions{})
	if err != nil {
		return err
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c0", Image: repo + ":1", ImageID: image}}
	_, err = kc.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	return err
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// scanner is a background verifier over the production cache.
// Its stats' background misses are the verifications a pass asked for.
func (sb *scanBench) scanner(p func() *policy.Policy) (*background.Scanner, *enforce.CacheStats, *policyreport.Writer) {
	v := verify.New()
	cache := enforce.NewCache(v, enforce.CacheConfig{})
	e := &scan.Engine{Decider: cache, Background: true, Concurrency: 2}
	w := &policyreport.Writer{Client: sb.dyn}
	return background.New(background.Config{Client: sb.kc, Reports: w, Engine: e, RootVersion: v.RootVersion, Policy: p,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), &cache.Stats, w
}

func (sb *scanBench) load(b *testing.B, audit string) *policy.Policy {
	sb.w.SetPolicy(strings.ReplaceAll(scanBenchPolicy, "AUDIT", audit))
	p, err := policy.LoadFile(sb.w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBackgroundScan: one full pass over 2,000 pods as a new leader
// makes it (list pods, read reports, decide, write what changed). cold: an
// empty cache; rescan: the same policy again; rescan-unrelated-edit: a trust
// file edit that changes no rule's meaning (every report is rewritten with
// the new policy hash, no registry request).
func BenchmarkBackgroundScan(b *testing.B) {
	sb := newScanBench(b)
	ctx := context.Background()
	p1, p2 := sb.load(b, "dev"), sb.load(b, "dev, staging")
	report := func(b *testing.B, verifications int64, writes int64) {
		n := float64(b.N)
		b.ReportMetric(float64(sb.registry.Load())/n, "registry-req/scan")
		b.ReportMetric(float64(verifications)/n, "verifications/scan")
		b.ReportMetric(float64(sb.apiserver.Load())/n, "apiserver-req/scan")
		b.ReportMetric(float64(writes)/n, "report-writes/scan")
	}
	b.Run("cold", func(b *testing.B) {
		var verified, writes int64
		sb.registry.Store(0)
		sb.apiserver.Store(0)
		for b.Loop() {
			s, e, w := sb.scanner(func() *policy.Policy { return p1 })
			s.Once(ctx)
			verified += e.BackgroundMisses.Load()
			writes += w.Writes.Load() + w.Deletes.Load()
		}
		report(b, verified, writes)
	})
	for _, tc := range []struct {
		name string
		next func(i int) *policy.Policy
	}{
		{"rescan", func(int) *policy.Policy { return p1 }},
		{"rescan-unrelated-edit", func(i int) *policy.Policy { return []*policy.Policy{p2, p1}[i%2] }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var cur atomic.Pointer[policy.Policy]
			cur.Store(p1)
			s, e, w := sb.scanner(func() *policy.Policy { return cur.Load() })
			s.Once(ctx) // warm: the first pass verifies
			verified, writes := e.BackgroundMisses.Load(), w.Writes.Load()+w.Deletes.Load()
			sb.registry.Store(0)
			sb.apiserver.Store(0)
			i := 0
			for b.Loop() {
				cur.Store(tc.next(i))
				i++
				s.Once(ctx)
			}
			report(b, e.BackgroundMisses.Load()-verified, w.Writes.Load()+w.Deletes.Load()-writes)
		})
	}
}
