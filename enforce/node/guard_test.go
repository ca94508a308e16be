package node

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

const nodePolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
sigstore: {trustedRoot: trusted_root.json, transparencyLog: optional}
identities:
  - name: release-key
    key: {path: cosign.pub}
images:
  - {name: apps, match: [REGISTRY/apps/**], signedBy: [release-key]}
  - {name: vendor, match: [REGISTRY/vendor/**], VENDOR}
  - {name: default-deny, match: ["**"], deny: only signed apps may run}
enforcement:
  namespaces: {exempt: [kube-system], audit: [dev]}
`

// fixture is a world (registry, key) with a signed and an unsigned image,
// a guard with the real engine and cache in front of it, and a verdict
// key pair the guard trusts.
type fixture struct {
	w                *testworld.World
	p                *policy.Policy
	signed, unsigned name.Digest
	vendor           name.Digest
	guard            *Guard
	signer           *verdict.Signer
	decided          int
	now              time.Time
}

func newFixture(t testing.TB, opts testworld.Options) *fixture {
	t.Helper()
	opts.Policy = strings.Replace(nodePolicy, "VENDOR", "signature: optional", 1)
	w := testworld.New(t, opts)
	f := &fixture{w: w, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	f.signed = w.Push("apps/app:v1")
	w.Sign(f.signed, f.signed, w.KeySigner(nil), ocisig.LayoutBundle)
	f.unsigned = w.Push("apps/rogue:v1")
	f.vendor = w.Push("vendor/db:v1")
	f.load(t)
	priv, pub, err := verdict.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = verdict.NewSigner(priv); err != nil {
		t.Fatal(err)
	}
	verifier, err := verdict.NewVerifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	cache := enforce.NewCache(verify.New(), enforce.CacheConfig{})
	f.guard = &Guard{Policy: func() *policy.Policy { return f.p }, Decider: countingDecider{cache, &f.decided},
		Verdicts: verifier, Exempt: []string{"signet-system"}, Undecided: Undecided{Allow: DefaultUndecidedAllow},
		Now: func() time.Time { return f.now }}
	return f
}

func (f *fixture) load(t testing.TB) {
	t.Helper()
	p, err := policy.LoadFile(f.w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	f.p = p
}

// countingDecider counts the verifications the guard asks for.
type countingDecider struct {
	d verify.Decider
	n *int
}

func (c countingDecider) Decide(ctx context.Context, req verify.Request) *verify.Decision {
	*c.n++
	return c.d.Decide(ctx, req)
}

// req is a container of image (tag as the pod names it) at digest d.
func req(ns, pod, image string, d name.Digest) Request {
	return Request{Namespace: ns, Pod: pod, Container: "app", Image: image, Digest: d.DigestStr()}
}

// verdictFor signs what the webhook would have admitted for pod in ns.
func (f *fixture) verdictFor(t testing.TB, ns, pod string, prefix bool, d name.Digest, at time.Time) string {
	t.Helper()
	s, dec := verify.Prepare(verify.Request{Image: d.Name(), Policy: f.p})
	if dec != nil {
		t.Fatal(dec.Messages())
	}
	env, err := f.signer.Sign(&verdict.Claim{Namespace: ns, Pod: pod, PodPrefix: prefix, PolicyHash: f.p.Hash, Time: at,
		Images: []verdict.Image{{Repository: d.Context().Name(), Digest: d.DigestStr(), RuleHash: s.Match.Rule.Hash}}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestGuardDecidesTheDigestTheRuntimeRuns(t *testing.T) {
	f := newFixture(t, testworld.Options{})
	ctx := context.Background()
	app := f.w.Ref("apps/app:v1")
	for _, tc := range []struct {
		name    string
		req     Request
		allowed bool
		path    Path
		reason  string
	}{
		{"a signed image is allowed after verification", req("apps", "a", app, f.signed), true, PathVerify, ""},
		{"an unsigned image is refused, naming the identity it needs", req("apps", "a", f.w.Ref("apps/rogue:v1"), f.unsigned), false, PathVerify, "release-key"},
		{"a signed tag whose runtime digest is unsigned is refused", req("apps", "a", app, f.unsigned), false, PathVerify, "release-key"},
		{"an image no rule admits is refused", req("apps", "a", "elsewhere.example/x:1", f.signed), false, PathVerify, "only signed apps may run"},
		{"an unsigned image in an audit namespace runs, reported", req("dev", "a", f.w.Ref("apps/rogue:v1"), f.unsigned), true, PathVerify, "release-key"},
		{"a trust-file exempt namespace is not checked", req("kube-system", "a", f.w.Ref("apps/rogue:v1"), f.unsigned), true, PathExempt, ""},
		{"signet's own namespace is not checked", req("signet-system", "a", f.w.Ref("apps/rogue:v1"), f.unsigned), true, PathExempt, ""},
		{"a container without a runtime digest is refused", Request{Namespace: "apps", Pod: "a", Image: app}, false, PathInvalid, "no image digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.guard.Decide(ctx, tc.req)
			if r.Allowed != tc.allowed || r.Path != tc.path || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("Decide: allowed=%v path=%s reason=%q; want allowed=%v path=%s reason containing %q", r.Allowed, r.Path, r.Reason, tc.allowed, tc.path, tc.reason)
			}
			if ref, err := name.ParseReference(tc.req.Image); err == nil && r.Path == PathVerify {
				if want := ref.Context().Name() + "@" + tc.req.Digest; r.Reference != want {
					t.Errorf("decided %s, want the repository at the runtime's digest: %s", r.Reference, want)
				}
			}
		})
	}
}

// TestVerdictPath: a verdict the webhook signed for this pod, digest and
// trust file decides without verifying; anything else about it makes the
// guard verify, so a copied, forged or stale verdict never admits what
// verification refuses.
func TestVerdictPath(t *testing.T) {
	f := newFixture(t, testworld.Options{})
	ctx := context.Background()
	app, rogue := f.w.Ref("apps/app:v1"), f.w.Ref("apps/rogue:v1")
	at := f.now.Add(-time.Minute)

	r := withVerdict(req("apps", "app-5f9c-x7k2", app, f.signed), f.verdictFor(t, "apps", "app-5f9c-", true, f.signed, at))
	if got := f.decide(ctx, r); !got.Allowed || got.Path != PathVerdict || f.decided != 0 {
		t.Fatalf("a covering verdict: allowed=%v path=%s verifications=%d (%s)", got.Allowed, got.Path, f.decided, got.Reason)
	}
	for _, tc := range []struct {
		name string
		req  Request
		why  string
	}{
		{"a verdict for the signed digest copied onto an unsigned one",
			withVerdict(req("apps", "app-5f9c-x7k2", rogue, f.unsigned), f.verdictFor(t, "apps", "app-5f9c-", true, f.signed, at)), "does not cover this image digest"},
		{"a verdict copied to a pod in another namespace",
			withVerdict(req("prod", "app-5f9c-x7k2", rogue, f.unsigned), f.verdictFor(t, "apps", "app-5f9c-", true, f.unsigned, at)), "another namespace"},
		{"a verdict copied to another pod",
			withVerdict(req("apps", "rogue", rogue, f.unsigned), f.verdictFor(t, "apps", "app-5f9c-", true, f.unsigned, at)), "another pod"},
		{"a verdict older than the max age",
			withVerdict(req("apps", "app", rogue, f.unsigned), f.verdictFor(t, "apps", "app", false, f.unsigned, f.now.Add(-2*time.Hour))), "max age"},
		{"an annotation that only claims to be a verdict",
			withVerdict(req("apps", "app", rogue, f.unsigned), `{"payloadType":"application/vnd.in-toto+json","payload":"","signatures":[]}`), "not signed by a key this node trusts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.decided
			got := f.decide(ctx, tc.req)
			if got.Allowed || got.Path != PathVerify || f.decided != before+1 || !strings.Contains(got.Reason, tc.why) {
				t.Fatalf("allowed=%v path=%s verifications=%d reason=%q; want refused after verifying, saying %q", got.Allowed, got.Path, f.decided-before, got.Reason, tc.why)
			}
		})
	}
	t.Run("a verdict from before the trust file tightened", func(t *testing.T) {
		vendor := f.w.Ref("vendor/db:v1")
		old := f.verdictFor(t, "apps", "db", false, f.vendor, at)
		f.w.SetPolicy(strings.Replace(nodePolicy, "VENDOR", "signedBy: [release-key]", 1))
		f.load(t)
		got := f.decide(ctx, withVerdict(req("apps", "db", vendor, f.vendor), old))
		if got.Allowed || !strings.Contains(got.Reason, "another trust file") {
			t.Fatalf("allowed=%v reason=%q; want refused: the verdict is from the old trust file", got.Allowed, got.Reason)
		}
	})
}

func withVerdict(r Request, v string) Request { r.Verdict = v; return r }

func (f *fixture) decide(ctx context.Context, r Request) Result { return f.guard.Decide(ctx, r) }

// TestUndecidedWithinBudget: with the registry hanging, Decide answers
// within its budget (the NRI deadline is 2 s) and applies the undecided
// policy: system namespaces start, others are refused, saying why; an
// audit namespace never blocks.
func TestUndecidedWithinBudget(t *testing.T) {
	hang := make(chan struct{})
	var hangNow atomic.Bool // the registry hangs once the fixture is set up
	f := newFixture(t, testworld.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") && r.Method == http.MethodGet && hangNow.Load() {
				select {
				case <-hang:
				case <-r.Context().Done():
				}
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	hangNow.Store(true)
	t.Cleanup(func() { hangNow.Store(false); close(hang) }) // before the registry's Close
	f.guard.Budget = 300 * time.Millisecond
	f.guard.Now = time.Now
	f.p.Enforcement.ExemptNamespaces = nil // kube-system is checked, and undecided
	for _, tc := range []struct {
		ns      string
		allowed bool
	}{{"apps", false}, {"kube-system", true}, {"dev", true}} {
		start := time.Now()
		r := f.guard.Decide(context.Background(), req(tc.ns, "a", f.w.Ref("apps/app:v1"), f.signed))
		took := time.Since(start)
		if r.Path != PathUndecided || r.Allowed != tc.allowed || !strings.Contains(r.Reason, "could not decide") {
			t.Errorf("%s: allowed=%v path=%s reason=%q; want undecided, allowed=%v", tc.ns, r.Allowed, r.Path, r.Reason, tc.allowed)
		}
		if took > f.guard.Budget+500*time.Millisecond {
			t.Errorf("%s: decided in %s, budget %s", tc.ns, took, f.guard.Budget)
		}
	}
}

func TestParseUndecided(t *testing.T) {
	u, err := ParseUndecided("deny", []string{"kube-system"})
	if err != nil || u.Allows("apps") || !u.Allows("kube-system") {
		t.Fatalf("deny: %+v %v", u, err)
	}
	if u, err := ParseUndecided("allow", nil); err != nil || !u.Allows("apps") {
		t.Fatalf("allow: %+v %v", u, err)
	}
	if _, err := ParseUndecided("maybe", nil); err == nil {
		t.Fatal("accepted an unknown policy")
	}
}
