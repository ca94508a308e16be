package enforce

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestMetricsCountEachAdmissionOnce: both webhooks see every request, yet
// an admission and each of its images are counted once, as allow, deny,
// audit-violation or exempt.
func TestMetricsCountEachAdmissionOnce(t *testing.T) {
	f := newFixture(t)
	cache := NewCache(verify.New(), CacheConfig{})
	rl := &Reloader{PolicyPath: f.w.PolicyPath}
	if err := rl.Load(); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(cache, rl, WithVersion("v1.2.3"))
	f.h.Decider, f.h.OnAdmission = cache, m.Record
	ctx := context.Background()
	for range 2 {
		bothPasses(t, ctx, f.h, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, ""))
	}
	bothPasses(t, ctx, f.h, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed, f.unsigned})), admissionv1.Create, ""))
	bothPasses(t, ctx, f.h, request(t, "Pod", "dev", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""))
	bothPasses(t, ctx, f.h, request(t, "Pod", "kube-system", pod(podSpec(nil, []string{f.unsigned})), admissionv1.Create, ""))
	bothPasses(t, ctx, f.h, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.w.Registry + "/acme/app:nonexistent"})), admissionv1.Create, ""))
	wh := m.Wrap(&Webhook{Handler: f.h})
	post(wh, "/validate", "application/json", review(t, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.vendor + "@" + f.vendorDigest})), admissionv1.Create, "")))

	body := scrape(t, m)
	for _, want := range []string{
		`signet_admissions_total{namespace="prod",result="allow"} 3`,
		`signet_admissions_total{namespace="prod",result="deny"} 2`,
		`signet_admissions_total{namespace="dev",result="audit-violation"} 1`,
		`signet_admissions_total{namespace="kube-system",result="exempt"} 1`,
		`signet_image_decisions_total{namespace="prod",result="allow",rule="acme"} 3`,
		`signet_image_decisions_total{namespace="prod",result="deny",rule="acme"} 2`,
		`signet_image_decisions_total{namespace="dev",result="audit-violation",rule="acme"} 1`,
		`signet_image_decisions_total{namespace="prod",result="allow",rule="vendor"} 1`,
		`signet_registry_errors_total{registry="` + f.w.Registry + `"} 1`,
		`signet_admission_duration_seconds_count{endpoint="validate"} 1`,
		`signet_build_info{goversion="` + runtime.Version() + `",version="v1.2.3"} 1`,
		`signet_policy_info{hash="` + rl.Policy().Hash + `"} 1`,
		`signet_policy_reload_failures_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}

// TestPolicyWarningsMetric: the lint warnings of the policy in force are
// logged when it loads and exported by code.
func TestPolicyWarningsMetric(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trust.yaml")
	policyText := "apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages:\n- {match: [\"**\"], signature: optional}\n- {match: [ghcr.io/x], deny: never}\n"
	if err := os.WriteFile(path, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	rl := &Reloader{PolicyPath: path, Log: slog.New(slog.NewTextHandler(&logged, nil))}
	if err := rl.Load(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "trust policy warning") || !strings.Contains(logged.String(), "code=catch-all-optional") {
		t.Errorf("warnings not logged at load:\n%s", logged.String())
	}
	body := scrape(t, NewMetrics(nil, rl))
	for _, want := range []string{`signet_policy_warnings{code="catch-all-optional"} 1`, `signet_policy_warnings{code="unreachable-rule"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
}

// TestMetricLabelsAreBounded: label values that come from requests take a
// bounded set of values. Thousands of junk paths are one "other" endpoint;
// forged namespaces beyond the bound are "_other", invalid ones "_invalid";
// registry hosts beyond theirs are "_other".
func TestMetricLabelsAreBounded(t *testing.T) {
	p, err := policy.Parse([]byte("apiVersion: signet.dev/v1alpha1\nkind: TrustPolicy\nimages: [{name: all, match: ['**'], deny: nothing runs}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics(nil, nil, WithNamespaces(5))
	h := &Handler{Decider: verify.New().Flow(), Policy: func() *policy.Policy { return p }, OnAdmission: m.Record}
	wh := m.Wrap(&Webhook{Handler: h})
	for i := range 2000 {
		post(wh, fmt.Sprintf("/junk-%d-%s", i, strings.Repeat("x", 1000)), "application/json", nil)
	}
	for i := range 50 {
		req := request(t, "Pod", fmt.Sprintf("tenant-%d", i), pod(podSpec(nil, []string{"r.example/app:1"})), admissionv1.Create, "")
		post(wh, ValidatePath, "application/json", review(t, req))
	}
	down := &downDecider{}
	for i := range 300 {
		a := &Admission{Request: &admissionv1.AdmissionRequest{Namespace: "Not/A.Namespace"}, Result: ResultDeny,
			Images: []Image{{Image: fmt.Sprintf("r%d.example/app:1", i)}}}
		a.Decisions = []*verify.Decision{down.Decide(context.Background(), verify.Request{Image: a.Images[0].Image, Policy: p})}
		m.Record(a)
	}
	values := labelValuesOf(t, m)
	for _, c := range []struct {
		label string
		want  []string
	}{
		{"endpoint", []string{"other", "validate"}},
		{"namespace", []string{"_invalid", "_other", "tenant-0", "tenant-1", "tenant-2", "tenant-3", "tenant-4"}},
	} {
		if got := slices.Sorted(maps.Keys(values[c.label])); !slices.Equal(got, c.want) {
			t.Errorf("label %s takes %q, want %q", c.label, got, c.want)
		}
	}
	if n := len(values["registry"]); n != metricRegistries+1 || !values["registry"][LabelOther] {
		t.Errorf("registry label takes %d values, want %d and %q", n, metricRegistries+1, LabelOther)
	}
}

// labelValuesOf gathers m's signet_ series and returns each label's values.
func labelValuesOf(t *testing.T, m *Metrics) map[string]map[string]bool {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	for _, f := range fams {
		if !strings.HasPrefix(f.GetName(), "signet_") {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if out[l.GetName()] == nil {
					out[l.GetName()] = map[string]bool{}
				}
				out[l.GetName()][l.GetValue()] = true
			}
		}
	}
	return out
}
