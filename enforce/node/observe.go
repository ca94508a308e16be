package node

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-dev/signet/enforce"
)

// Metrics counts the node's decisions: signet_node_decisions_total by path
// (exempt, verdict, verify, undecided, invalid) and result (allow, deny,
// audit), and how long each took.
type Metrics struct {
	reg       *prometheus.Registry
	decisions *prometheus.CounterVec
	seconds   *prometheus.HistogramVec
}

// NewMetrics registers the node's metrics; signet_node_policy_info names
// the trust file in force (its hash), as the node reads it.
func NewMetrics(p enforce.PolicySource) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "signet_node_decisions_total",
			Help: "Container creations decided on this node, by path and result (synchronized: existed when the plugin connected)."},
			[]string{"path", "result", "synchronized"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "signet_node_decision_seconds",
			Help:    "Time to decide one container creation, by path.",
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2}}, []string{"path"}),
	}
	m.reg.MustRegister(m.decisions, m.seconds, policyInfo{p}, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var policyDesc = prometheus.NewDesc("signet_node_policy_info", "The trust file the node decides with (1, labelled with its hash).", []string{"hash"}, nil)

type policyInfo struct{ p enforce.PolicySource }

func (c policyInfo) Describe(ch chan<- *prometheus.Desc) { ch <- policyDesc }
func (c policyInfo) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(policyDesc, prometheus.GaugeValue, 1, c.p().Hash)
}

// Record counts one decision.
func (m *Metrics) Record(_ Request, r Result) {
	sync := "false"
	if r.Synchronized {
		sync = "true"
	}
	m.decisions.WithLabelValues(string(r.Path), r.outcome(), sync).Inc()
	m.seconds.WithLabelValues(string(r.Path)).Observe(r.Elapsed.Seconds())
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (r Result) outcome() string {
	switch {
	case !r.Allowed:
		return "deny"
	case r.Audit || r.Path == PathUndecided:
		return "audit"
	}
	return "allow"
}

// LogDecision logs every decision as JSON: refusals and containers that
// started undecided or with a violation at warning level, with everything
// a reader needs to find the pod, the image and the reason. log should say
// source=node (signet-node's does), so the webhook's and the node's logs
// can be told apart.
func LogDecision(log *slog.Logger) func(Request, Result) {
	return func(req Request, r Result) {
		level := slog.LevelInfo
		msg := "container allowed"
		switch {
		case !r.Allowed && r.Synchronized:
			level, msg = slog.LevelWarn, "container running that the node would have refused (created while no plugin ran)"
		case !r.Allowed:
			level, msg = slog.LevelWarn, "container refused"
		case r.Path == PathUndecided:
			level, msg = slog.LevelWarn, "container allowed undecided (namespace's undecided policy)"
		case r.Audit:
			level, msg = slog.LevelWarn, "container allowed with a violation (audit namespace)"
		}
		log.Log(context.Background(), level, msg, "namespace", req.Namespace, "pod", req.Pod, "container", req.Container,
			"image", req.Image, "reference", r.Reference, "path", string(r.Path), "policyHash", r.PolicyHash,
			"reason", r.Reason, "synchronized", r.Synchronized, "elapsedMs", float64(r.Elapsed.Microseconds())/1000)
	}
}
