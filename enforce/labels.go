package enforce

import (
	"strings"
	"sync"
)

// Label values that stand for many: a value over a label's bound, and one
// that is not a valid value at all. Neither can be a namespace name or a
// registry host (both hold "_"), so they never mix with real values.
const (
	LabelOther   = "_other"
	LabelInvalid = "_invalid"
)

// Metric label bounds. Each label value is a time series kept for the
// life of the process, so a label that takes a request's strings must
// take them from a bounded set: a forged review can name any namespace
// and any registry host.
const (
	// DefaultMetricNamespaces is how many distinct namespaces get their own
	// label value (enforce serve --metrics-namespaces); later ones count as
	// LabelOther.
	DefaultMetricNamespaces = 1000
	// metricRegistries is how many distinct registry hosts
	// signet_registry_errors_total names.
	metricRegistries = 100
)

// labelValues keeps one metric label to valid values, at most max of
// them: the first max distinct valid values seen keep their own value (so
// a series never changes label), later ones become LabelOther, invalid
// ones LabelInvalid.
type labelValues struct {
	valid func(string) bool
	max   int

	mu   sync.Mutex
	seen map[string]struct{}
}

func newLabelValues(max int, valid func(string) bool) *labelValues {
	return &labelValues{valid: valid, max: max, seen: map[string]struct{}{}}
}

// value is the label value that stands for v.
func (l *labelValues) value(v string) string {
	if !l.valid(v) {
		return LabelInvalid
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= l.max {
		return LabelOther
	}
	l.seen[v] = struct{}{}
	return v
}

// validRegistry reports whether host can be a registry host[:port] as
// name.ParseReference returns it: a DNS name or an IP, at most 253 bytes
// and a port.
func validRegistry(host string) bool {
	return host != "" && len(host) <= 253+6 && !strings.ContainsAny(host, "/_ \t\n")
}
