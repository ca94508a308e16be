package enforce

import (
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/signet-dev/signet/verify"
)

// Metrics are enforce's Prometheus metrics. Counters that already exist as
// atomics (cache, reloads) are read at scrape time rather than duplicated;
// so is the policy in force.
type Metrics struct {
	reg            *prometheus.Registry
	admissions     *prometheus.CounterVec
	decisions      *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	registryErrors *prometheus.CounterVec
	// namespaces and registries bound the label values those take from
	// requests.
	namespaces, registries *labelValues
}

// MetricsOption configures NewMetrics.
type MetricsOption func(*metricsConfig)

type metricsConfig struct {
	version    string
	namespaces int
}

// WithVersion sets the version label of signet_build_info.
func WithVersion(v string) MetricsOption { return func(c *metricsConfig) { c.version = v } }

// WithNamespaces bounds the distinct namespace label values (default
// DefaultMetricNamespaces); further namespaces are counted as LabelOther.
func WithNamespaces(n int) MetricsOption { return func(c *metricsConfig) { c.namespaces = n } }

// NewMetrics registers enforce's metrics (and Go runtime metrics).
func NewMetrics(cache *Cache, rl *Reloader, opts ...MetricsOption) *Metrics {
	cfg := metricsConfig{version: "dev"}
	for _, o := range opts {
		o(&cfg)
	}
	m := &Metrics{
		reg:        prometheus.NewRegistry(),
		namespaces: newLabelValues(orDefault(cfg.namespaces, DefaultMetricNamespaces), validNamespace),
		registries: newLabelValues(metricRegistries, validRegistry),
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_admissions_total",
			Help: "Checked admission requests by result (allow, deny, audit-violation, exempt) and namespace, each counted once."}, []string{"result", "namespace"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_image_decisions_total",
			Help: "Image decisions by result (allow, deny, audit-violation), rule and namespace, once per admission."}, []string{"result", "rule", "namespace"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_admission_duration_seconds",
			Help:    "Time to answer a request to the webhook, by endpoint (mutate, validate, validate-trust-config; other for any other path).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"endpoint"}),
		registryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_registry_errors_total",
			Help: "Denials caused by infrastructure (registry, TUF, trusted root) rather than the image, by registry host."}, []string{"registry"}),
	}
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "signet_build_info",
		Help: "Always 1: the running enforce's version and Go version."}, []string{"version", "goversion"})
	buildInfo.WithLabelValues(cfg.version, runtime.Version()).Set(1)
	counter := func(name, help string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) })
	}
	m.reg.MustRegister(m.admissions, m.decisions, m.latency, m.registryErrors, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
			policyCollector{rl},
		)
	}
	return m
}

// Register adds collectors of enforce's other parts (the background
// verifier) to /metrics.
func (m *Metrics) Register(cs ...prometheus.Collector) { m.reg.MustRegister(cs...) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Record is a Handler.OnAdmission hook: the admission once, and each of
// its images once.
func (m *Metrics) Record(a *Admission) {
	ns := m.namespaces.value(a.Request.Namespace)
	m.admissions.WithLabelValues(string(a.Result), ns).Inc()
	for i, d := range a.Decisions {
		rule := "none"
		if d.Rule != nil {
			rule = d.Rule.Name
		}
		m.decisions.WithLabelValues(string(a.ImageResult(i)), rule, ns).Inc()
		if d.Transient {
			m.registryErrors.WithLabelValues(m.registries.value(failedRegistry(d))).Inc()
		}
	}
}

// Wrap times every request to the webhook, labelled by endpoint: one of
// the webhook's paths, or "other" for any other (a path is the client's
// string, and each label value a series).
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		m.latency.WithLabelValues(endpointOf(r.URL.Path)).Observe(time.Since(start).Seconds())
	})
}

// endpointOf names the webhook endpoint of a request path.
func endpointOf(path string) string {
	switch path {
	case MutatePath, ValidatePath, TrustConfigPath:
		return strings.TrimPrefix(path, "/")
	}
	return "other"
}

// failedRegistry is the registry host a transient decision failed at: the
// one its reasons report, or the image's.
func failedRegistry(d *verify.Decision) string {
	for _, r := range d.Reasons {
		if r.Registry != nil && r.Registry.Host != "" {
			return r.Registry.Host
		}
	}
	return registryOf(d.Image)
}

func registryOf(image string) string {
	ref, err := name.ParseReference(image)
	if err != nil {
		return LabelInvalid
	}
	return ref.Context().RegistryStr()
}

// policyCollector reports the policy in force at scrape time: its hash
// (signet_policy_info), and its lint warnings by code.
type policyCollector struct{ rl *Reloader }

var (
	policyInfoDesc = prometheus.NewDesc("signet_policy_info",
		"Always 1: the hash of the trust policy in force.", []string{"hash"}, nil)
	policyWarningsDesc = prometheus.NewDesc("signet_policy_warnings",
		"Lint warnings of the trust policy in force, by code (sign policy lint shows them).", []string{"code"}, nil)
)

func (c policyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- policyInfoDesc
	ch <- policyWarningsDesc
}

func (c policyCollector) Collect(ch chan<- prometheus.Metric) {
	p := c.rl.Policy()
	if p == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(policyInfoDesc, prometheus.GaugeValue, 1, p.Hash)
	counts := map[string]int{}
	for _, w := range p.Warnings {
		counts[string(w.Code)]++
	}
	for code, n := range counts {
		ch <- prometheus.MustNewConstMetric(policyWarningsDesc, prometheus.GaugeValue, float64(n), code)
	}
}
