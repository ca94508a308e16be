package background

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-dev/signet/policyreport"
)

// Metrics of the background verifier. All methods are safe on a nil
// *Metrics.
type Metrics struct {
	duration     *prometheus.HistogramVec
	violations   *prometheus.GaugeVec
	leader       prometheus.Gauge
	reportErrors prometheus.Counter
	collectors   []prometheus.Collector

	mu     sync.Mutex
	lastNS map[string]bool
}

// NewMetrics creates the metrics; images remembered and verified (the
// decision store's background hits and misses: enforce.CacheStats), and
// report writes, are read at scrape time from remembered, verified and w.
func NewMetrics(remembered, verified func() int64, w *policyreport.Writer) *Metrics {
	m := &Metrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_scan_duration_seconds",
			Help:    "Duration of a background verification pass over every running pod, by trigger (start, policy, trusted-root, periodic).",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900}}, []string{"trigger"}),
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "signet_scan_violations",
			Help: "Running images that fail the trust policy (fail results in the PolicyReports), by namespace."}, []string{"namespace"}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "signet_scan_leader",
			Help: "1 on the replica that holds the background verifier's lease and scans, else 0."}),
		reportErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "signet_report_write_failures_total",
			Help: "PolicyReport writes the apiserver refused (retried on the next change or pass)."}),
	}
	images := func(from string, f func() int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "signet_scan_images_total",
			Help:        "Distinct images decided by background passes, by where the decision came from: memo (the webhook's decision store remembered it, no registry request) or verifier (verified on a miss).",
			ConstLabels: prometheus.Labels{"from": from}}, func() float64 { return float64(f()) })
	}
	m.collectors = []prometheus.Collector{m.duration, m.violations, m.leader, m.reportErrors,
		images("memo", remembered), images("verifier", verified),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "signet_report_writes_total",
			Help: "PolicyReport and ClusterPolicyReport writes and deletes sent to the apiserver (unchanged reports are not written)."},
			func() float64 { return float64(w.Writes.Load() + w.Deletes.Load()) }),
	}
	return m
}

// Collectors are registered with enforce's /metrics.
func (m *Metrics) Collectors() []prometheus.Collector { return m.collectors }

func (m *Metrics) pass(trigger string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(trigger).Observe(d.Seconds())
	}
}

func (m *Metrics) setLeader(leading bool) {
	if m == nil {
		return
	}
	v := 0.0
	if leading {
		v = 1
	}
	m.leader.Set(v)
	if !leading {
		m.violations.Reset() // the new leader reports them
	}
}

func (m *Metrics) reportError() {
	if m != nil {
		m.reportErrors.Inc()
	}
}

// setViolations replaces the per-namespace gauge.
func (m *Metrics) setViolations(byNS map[string]int) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for ns := range m.lastNS {
		if _, ok := byNS[ns]; !ok {
			m.violations.DeleteLabelValues(ns)
		}
	}
	m.lastNS = map[string]bool{}
	for ns, n := range byNS {
		m.violations.WithLabelValues(ns).Set(float64(n))
		m.lastNS[ns] = true
	}
}
