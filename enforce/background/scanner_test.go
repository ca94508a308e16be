package background_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/background"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const scanPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-key, key: {path: cosign.pub}}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [release-key]}
  - {name: rest, match: ["**"], deny: only approved registries}
`

// TestScannersElectOneAndReport runs two in-process scanners (under -race
// in make test's enforce run) against a real apiserver: exactly one leads,
// a running pod's result is written, and when the leader stops the other
// takes over and keeps the report current.
func TestScannersElectOneAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	w := testworld.New(t, testworld.Options{Policy: scanPolicy})
	signed := w.Push("acme/app:1")
	w.Sign(signed, signed, w.KeySigner(nil), ocisig.LayoutBundle)
	unsigned := w.Push("acme/app:2")
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	s := stack.New(t, stack.Options{Kube: true})
	kc, _ := kubernetes.NewForConfig(s.Kube.Config)
	dyn, _ := dynamic.NewForConfig(s.Kube.Config)
	ctx := t.Context()
	if err := stack.InstallCRDs(ctx, dyn, "../../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_policyreports.yaml",
		"../../deploy/charts/signet-enforce/crds/wgpolicyk8s.io_clusterpolicyreports.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"signet-system", "shop"} {
		if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kc.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	scanners := map[string]*background.Scanner{}
	stops := map[string]context.CancelFunc{}
	done := map[string]chan struct{}{}
	for _, id := range []string{"a", "b"} {
		v := verify.New()
		sc := background.New(background.Config{Client: kc, Reports: &policyreport.Writer{Client: dyn}, Policy: func() *policy.Policy { return p },
			Engine: &scan.Engine{Decider: enforce.NewCache(v, enforce.CacheConfig{}), Background: true}, RootVersion: v.RootVersion,
			Settle: 50 * time.Millisecond, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Lease: background.Lease{Namespace: "signet-system", Identity: id, Duration: 3 * time.Second}})
		sctx, stop := context.WithCancel(ctx)
		ch := make(chan struct{})
		scanners[id], stops[id], done[id] = sc, stop, ch
		go func() { defer close(ch); _ = sc.Run(sctx) }()
	}
	t.Cleanup(func() {
		for id, stop := range stops {
			stop()
			<-done[id]
		}
	})
	leader := waitLeader(t, scanners, "")
	pod := func(name string, d fmt.Stringer) {
		repo, _, _ := strings.Cut(d.String(), "@")
		p, err := kc.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: repo + ":1"}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ImageID: d.String()}}
		if _, err := kc.CoreV1().Pods("shop").UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pod("good", signed)
	waitSummary(t, dyn, policyreport.Summary{Pass: 1})
	stops[leader]()
	<-done[leader]
	waitLeader(t, scanners, leader)
	pod("bad", unsigned)
	waitSummary(t, dyn, policyreport.Summary{Pass: 1, Fail: 1})
}

// waitLeader waits until exactly one scanner other than gone leads.
func waitLeader(t *testing.T, scanners map[string]*background.Scanner, gone string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var leading []string
		for id, s := range scanners {
			if s.Leading() {
				leading = append(leading, id)
			}
		}
		if len(leading) > 1 {
			t.Fatalf("two scanners lead at once: %v", leading)
		}
		if len(leading) == 1 && leading[0] != gone {
			return leading[0]
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	t.Fatal("no scanner took the lease")
	return ""
}

func waitSummary(t *testing.T, dyn dynamic.Interface, want policyreport.Summary) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got policyreport.Summary
	for time.Now().Before(deadline) {
		if u, err := dyn.Resource(policyreport.PolicyReports).Namespace("shop").Get(t.Context(), "signet-0", metav1.GetOptions{}); err == nil {
			if r, err := policyreport.Decode(u); err == nil {
				if got = r.Summary; got == want {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond) // polling a condition, bounded by the deadline
	}
	t.Fatalf("report summary %+v, want %+v", got, want)
}
