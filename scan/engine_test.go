package scan_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signet-dev/signet/scan"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

const enginePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-key, key: {path: cosign.pub}}
  - {name: other-key, key: {path: cosign.pub}}
images:
  - {name: acme, match: [REGISTRY/acme/**], signedBy: [release-key]}
  - {name: vendor, match: [REGISTRY/vendor/**], signature: optional}
  - {name: rest, match: ["**"], deny: only approved registries}
enforcement:
  mode: MODE
  namespaces: {audit: [dev], exempt: [kube-system]}
`

// engineWorld is a background engine over the webhook's Cache (the one
// decision store admissions and background passes share), as enforce runs
// it.
type engineWorld struct {
	w        *testworld.World
	requests atomic.Int64
	cache    *enforce.Cache
	engine   *scan.Engine
	signed   string // ref of a signed image
	unsigned string
}

// verified is how many verifications the engine ran (store misses).
func (ew *engineWorld) verified() int64 { return ew.cache.Stats.Verifications.Load() }

func newEngineWorld(t *testing.T) *engineWorld {
	ew := &engineWorld{}
	ew.w = testworld.New(t, testworld.Options{Policy: strings.ReplaceAll(enginePolicy, "MODE", "enforce"), Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ew.requests.Add(1); h.ServeHTTP(w, r) })
	}})
	d := ew.w.Push("acme/app:1")
	ew.w.Sign(d, d, ew.w.KeySigner(nil), ocisig.LayoutBundle)
	ew.signed = d.String()
	ew.unsigned = ew.w.Push("acme/unsigned:1").String()
	ew.cache = enforce.NewCache(verify.New(), enforce.CacheConfig{})
	ew.engine = &scan.Engine{Decider: ew.cache, Background: true}
	return ew
}

func (ew *engineWorld) policy(t *testing.T, mode string, edit ...string) *policy.Policy {
	t.Helper()
	src := strings.ReplaceAll(enginePolicy, "MODE", mode)
	for i := 0; i+1 < len(edit); i += 2 {
		src = strings.Replace(src, edit[i], edit[i+1], 1)
	}
	ew.w.SetPolicy(src)
	p, err := policy.LoadFile(ew.w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runningPod runs images in namespace ns, the node reporting each digest.
func runningPod(ns, name string, images ...string) []scan.Target {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for i, img := range images {
		c := "c" + string(rune('0'+i))
		repo, dg, _ := strings.Cut(img, "@")
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: c, Image: repo + ":1"})
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c, ImageID: repo + "@" + dg})
	}
	return scan.Targets(pod)
}

// TestEngineVerifiesEachDigestOnceAndRemembers: 30 pods of two images are
// two verifications; a second pass and a pass under an unrelated edit of
// the trust file send no registry request; an edit of the governing rule
// re-verifies exactly the digests it governs.
func TestEngineVerifiesEachDigestOnceAndRemembers(t *testing.T) {
	ew := newEngineWorld(t)
	var targets []scan.Target
	for i := range 15 {
		targets = append(targets, runningPod("prod", "a"+string(rune('a'+i)), ew.signed, ew.unsigned)...)
	}
	ctx := context.Background()
	p := ew.policy(t, "enforce")
	fs := ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: targets})
	if got := ew.verified(); got != 2 {
		t.Fatalf("first pass sent %d references to the verifier, want 2 (one per distinct digest)", got)
	}
	s := scan.Summarize(fs)
	if s.Pass != 15 || s.Fail != 15 {
		t.Fatalf("summary %+v, want 15 pass and 15 fail", s)
	}
	for _, f := range fs {
		if f.Result == scan.Fail && (!strings.Contains(f.Reason, "no signature") && !strings.Contains(f.Reason, "signature")) {
			t.Errorf("fail without the verifier's reason: %q", f.Reason)
		}
		if f.Result == scan.Pass && (len(f.Identities) != 1 || f.Identities[0] != "release-key") {
			t.Errorf("pass without its identity: %+v", f)
		}
	}

	for _, step := range []struct {
		name     string
		p        *policy.Policy
		wantReqs bool
	}{
		{"a rescan under the same policy", p, false},
		{"a rescan after an unrelated edit", ew.policy(t, "enforce", "audit: [dev]", "audit: [dev, staging]"), false},
		{"a rescan after another rule changed", ew.policy(t, "enforce", "signature: optional}", "signature: optional, mode: audit}"), false},
		{"a rescan after the governing rule changed", ew.policy(t, "enforce", "signedBy: [release-key]}", "signedBy: [other-key]}"), true},
	} {
		before := ew.requests.Load()
		fs2 := ew.engine.Decide(ctx, scan.Batch{Policy: step.p, Targets: targets})
		if sent := ew.requests.Load() - before; (sent > 0) != step.wantReqs {
			t.Errorf("%s: %d registry requests, want requests: %v", step.name, sent, step.wantReqs)
		}
		if scan.Summarize(fs2) != s {
			t.Errorf("%s: summary %+v, want %+v", step.name, scan.Summarize(fs2), s)
		}
		for _, f := range fs2 {
			if f.PolicyHash != step.p.Hash {
				t.Fatalf("%s: a remembered finding carries policy %s, want the current %s", step.name, f.PolicyHash, step.p.Hash)
			}
		}
	}
}

// TestEngineModesAndSkips: an audit namespace's failure is a fail in audit
// mode; an exempt namespace is skipped without a registry request; a
// container whose digest is unknown is skipped, not guessed from its tag.
func TestEngineModesAndSkips(t *testing.T) {
	ew := newEngineWorld(t)
	p := ew.policy(t, "enforce")
	targets := append(runningPod("dev", "d", ew.unsigned), runningPod("kube-system", "k", ew.unsigned)...)
	noDigest := runningPod("prod", "n", ew.signed)
	noDigest[0].Digest, noDigest[0].DigestFrom = "", ""
	targets = append(targets, noDigest...)
	fs := ew.engine.Decide(context.Background(), scan.Batch{Policy: p, Targets: targets})
	if fs[0].Result != scan.Fail || fs[0].Mode != "audit" {
		t.Errorf("audit namespace: %s mode %s, want fail in audit mode", fs[0].Result, fs[0].Mode)
	}
	if fs[1].Result != scan.Skip || !strings.Contains(fs[1].Reason, "exempt") {
		t.Errorf("exempt namespace: %s %q, want skip", fs[1].Result, fs[1].Reason)
	}
	if fs[2].Result != scan.Skip || !strings.Contains(fs[2].Reason, "no digest") {
		t.Errorf("unknown digest: %s %q, want skip", fs[2].Result, fs[2].Reason)
	}
	if got := ew.verified(); got != 1 {
		t.Errorf("%d verifications, want 1 (only the audit namespace's image)", got)
	}
	auditMode := ew.policy(t, "audit")
	if f := ew.engine.Decide(context.Background(), scan.Batch{Policy: auditMode, Targets: runningPod("prod", "p", ew.unsigned)}); f[0].Result != scan.Fail || f[0].Mode != "audit" {
		t.Errorf("audit trust file: %s mode %s, want fail in audit mode", f[0].Result, f[0].Mode)
	}
}

// TestEngineRemembersNoInfrastructureFailure: a registry failure is an
// error result, asked again on the next pass; a denial is re-verified only
// when a periodic pass asks for it.
func TestEngineRemembersNoInfrastructureFailure(t *testing.T) {
	ew := newEngineWorld(t)
	var down atomic.Bool
	ew.w.Server.Config.Handler = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}(ew.w.Server.Config.Handler)
	p := ew.policy(t, "enforce")
	ctx := context.Background()
	down.Store(true)
	fs := ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: runningPod("prod", "a", ew.signed)})
	if fs[0].Result != scan.Error {
		t.Fatalf("registry down: %s %q, want error", fs[0].Result, fs[0].Reason)
	}
	down.Store(false)
	if fs = ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: runningPod("prod", "a", ew.signed)}); fs[0].Result != scan.Pass {
		t.Fatalf("registry back: %s %q, want pass (the failure must not be remembered)", fs[0].Result, fs[0].Reason)
	}
	unsigned := runningPod("prod", "u", ew.unsigned)
	ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: unsigned})
	n := ew.verified()
	ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: unsigned})
	if ew.verified() != n {
		t.Error("a denial was re-verified by a pass that did not ask for it")
	}
	ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: unsigned, ReverifyDenied: true})
	if ew.verified() != n+1 {
		t.Error("a periodic pass did not re-verify a remembered denial")
	}
}

// TestEngineAnsweredByAdmission: a decision the webhook made at admission
// is in the store the background pass asks, so the pass that sees the
// admitted pod asks no registry.
func TestEngineAnsweredByAdmission(t *testing.T) {
	ew := newEngineWorld(t)
	p := ew.policy(t, "enforce")
	ctx := context.Background()
	repo, dg, _ := strings.Cut(ew.signed, "@")
	if d := ew.cache.Decide(ctx, verify.Request{Image: repo + ":1@" + dg, Policy: p}); !d.Allowed {
		t.Fatalf("admission denied: %v", d.Messages())
	}
	before := ew.requests.Load()
	fs := ew.engine.Decide(ctx, scan.Batch{Policy: p, Targets: runningPod("prod", "a", ew.signed)})
	if fs[0].Result != scan.Pass || ew.requests.Load() != before {
		t.Errorf("after seeding: %s with %d registry requests, want pass with none", fs[0].Result, ew.requests.Load()-before)
	}
}
