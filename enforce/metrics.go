package enforce

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/verify"
)

// Metrics are enforce's Prometheus metrics. Counters that already exist as
// atomics (cache, reloads) are read at scrape time rather than duplicated.
type Metrics struct {
	reg            *prometheus.Registry
	decisions      *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	registryErrors *prometheus.CounterVec
}

// NewMetrics registers enforce's metrics (and Go runtime metrics).
func NewMetrics(cache *Cache, rl *Reloader) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_image_decisions_total",
			Help: "Image decisions by result (allow, deny, audit), rule and namespace."}, []string{"result", "rule", "namespace"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_admission_duration_seconds",
			Help:    "Time to answer an AdmissionReview, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"endpoint"}),
		registryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_registry_errors_total",
			Help: "Denials caused by infrastructure (registry, TUF, trusted root) rather than the image, by registry host."}, []string{"registry"}),
	}
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	m.reg.MustRegister(m.decisions, m.latency, m.registryErrors,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if cache != nil {
		m.reg.MustRegister(
			counter("signet_cache_hits_total", "Decision cache hits.", cache.Stats.Hits.Load),
			counter("signet_cache_misses_total", "Decision cache misses.", cache.Stats.Misses.Load),
			counter("signet_tag_cache_hits_total", "Tag resolution cache hits.", cache.Stats.TagHits.Load),
			counter("signet_tag_cache_misses_total", "Tag resolution cache misses.", cache.Stats.TagMisses.Load),
			counter("signet_verifications_total", "Verifications run (after cache and request sharing).", cache.Stats.Verifications.Load),
		)
	}
	if rl != nil {
		m.reg.MustRegister(
			counter("signet_policy_reloads_total", "Trust policy reloads applied.", rl.PolicyReloads.Load),
			counter("signet_policy_reload_failures_total", "Invalid trust policies refused (the last good one stayed).", rl.PolicyFailures.Load),
			counter("signet_certificate_reloads_total", "Serving certificate reloads applied.", rl.CertReloads.Load),
			counter("signet_certificate_reload_failures_total", "Serving certificate reloads refused.", rl.CertFailures.Load),
		)
	}
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Observe is a Handler.Observe hook.
func (m *Metrics) Observe(req *admissionv1.AdmissionRequest, _ Image, d *verify.Decision) {
	rule := "none"
	if d.Rule != nil {
		rule = d.Rule.Name
	}
	m.decisions.WithLabelValues(strings.ToLower(d.Verdict()), rule, req.Namespace).Inc()
	if d.Transient {
		m.registryErrors.WithLabelValues(registryOf(d.Image)).Inc()
	}
}

// Wrap times every request to the webhook.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.latency.WithLabelValues(strings.TrimPrefix(r.URL.Path, "/")).Observe(time.Since(start).Seconds())
	})
}

func registryOf(image string) string {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "invalid"
	}
	return ref.Context().RegistryStr()
}
