package enforce

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/verify"
)

func TestMetricsCountDecisionsCacheAndLatency(t *testing.T) {
	f := newFixture(t)
	cache := NewCache(verify.New(), CacheConfig{})
	m := NewMetrics(cache, &Reloader{})
	f.h.Decider, f.h.Observe = cache, m.Observe
	for range 2 {
		f.h.Handle(context.Background(), request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed, f.unsigned})), admissionv1.Create, ""), true)
	}
	f.h.Handle(context.Background(), request(t, "Pod", "prod", pod(podSpec(nil, []string{f.w.Registry + "/acme/app:nonexistent"})), admissionv1.Create, ""), true)
	wh := m.Wrap(&Webhook{Handler: f.h})
	post(wh, "/validate", "application/json", review(t, request(t, "Pod", "prod", pod(podSpec(nil, []string{f.signed})), admissionv1.Create, "")))

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`signet_image_decisions_total{namespace="prod",result="allow",rule="acme"} 3`,
		`signet_image_decisions_total{namespace="prod",result="deny",rule="acme"} 3`,
		`signet_cache_hits_total 3`,
		`signet_registry_errors_total{registry="` + f.w.Registry + `"} 1`,
		`signet_admission_duration_seconds_count{endpoint="validate"} 1`,
		`signet_policy_reload_failures_total 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}
