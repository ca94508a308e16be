package enforce

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// DefaultTrustedRootRefresh is how often the webhook refreshes the
// public-good trusted root: Sigstore announces key rotations well ahead,
// and TUF metadata stays valid for days, so daily is plenty.
const DefaultTrustedRootRefresh = 24 * time.Hour

// TrustedRoots keeps the webhook's public-good trusted root current: it
// refreshes it through TUF in the background every Interval, logs every
// change, failure and fallback to the embedded snapshot, and exports
// signet_trusted_root_* metrics. Decisions are cached per root version,
// so a new root re-verifies every image under it.
type TrustedRoots struct {
	Store    *trustroot.Store
	Interval time.Duration
	// Policy is the policy in force: the first refresh happens at start
	// when it names public-good, instead of during the first admission.
	Policy func() *policy.Policy
	Log    *slog.Logger
}

// Run refreshes until ctx ends: at start, then every Interval, as long as
// the public-good root is in use (a cluster that only trusts a private
// root never contacts Sigstore's TUF repository).
func (t *TrustedRoots) Run(ctx context.Context) {
	pg := t.Store.PublicGood()
	if pg.Current() == nil && t.publicGood() {
		t.report(pg.Refresh(ctx))
	}
	interval := t.Interval
	if interval <= 0 {
		interval = DefaultTrustedRootRefresh
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if pg.Current() != nil || t.publicGood() {
				t.report(pg.Refresh(ctx))
			}
		}
	}
}

// publicGood reports whether the policy in force names public-good: its
// sigstore section, or an identity's own.
func (t *TrustedRoots) publicGood() bool {
	p := t.Policy()
	if p == nil {
		return false
	}
	if p.Sigstore.TrustedRoot == trustroot.PublicGood || p.Sigstore.TrustedRoot == "" {
		return true
	}
	for _, s := range p.TrustedRoots() {
		if s.TrustedRoot == trustroot.PublicGood {
			return true
		}
	}
	return false
}

func (t *TrustedRoots) report(r trustroot.Refreshed) {
	log := t.Log
	if log == nil {
		log = slog.Default()
	}
	switch {
	case r.Root == nil:
		log.Error("no public-good trusted root", "err", r.Err)
	case r.FellBack:
		log.Error("TUF unreachable and no earlier trusted root: verifying against the embedded public-good snapshot, which may predate Sigstore's current keys",
			"version", r.Root.Version, "err", r.Err)
	case r.Err != nil:
		log.Warn("public-good trusted root refresh failed; keeping the last good root",
			"version", r.Root.Version, "source", r.Root.Source, "since", r.Root.Loaded, "err", r.Err)
	case r.Changed():
		from := ""
		if r.Previous != nil {
			from = r.Previous.Version
		}
		log.Info("public-good trusted root updated from TUF; cached decisions are re-verified under it", "version", r.Root.Version, "previous", from)
	}
}

// RegisterTrustedRoots exports the roots' metrics with m's.
func (m *Metrics) RegisterTrustedRoots(t *TrustedRoots) {
	m.reg.MustRegister(&trustedRootCollector{store: t.Store})
}

var (
	rootInfoDesc = prometheus.NewDesc("signet_trusted_root_info",
		"The Sigstore trusted root in force per trust-policy root (public-good or a file path): source (tuf, embedded, file) and version (sha256 of trusted_root.json).",
		[]string{"root", "source", "version"}, nil)
	rootRefreshedDesc = prometheus.NewDesc("signet_trusted_root_last_refresh_timestamp_seconds",
		"When the trusted root in force was last confirmed current (TUF refresh or file read); 0 if never (the embedded snapshot after TUF failed).",
		[]string{"root"}, nil)
	rootAgeDesc = prometheus.NewDesc("signet_trusted_root_age_seconds",
		"Seconds since the trusted root in force was last confirmed current, or since it came into force if never.",
		[]string{"root"}, nil)
	rootRefreshesDesc = prometheus.NewDesc("signet_trusted_root_refreshes_total",
		"Public-good trusted root refreshes attempted through TUF.", nil, nil)
	rootFailuresDesc = prometheus.NewDesc("signet_trusted_root_refresh_failures_total",
		"Public-good trusted root refreshes that failed (the last good root stayed in force).", nil, nil)
	rootFallbacksDesc = prometheus.NewDesc("signet_trusted_root_fallbacks_total",
		"Times the embedded public-good snapshot came into force because TUF failed and there was no earlier root.", nil, nil)
)

// trustedRootCollector reads the store at scrape time.
type trustedRootCollector struct{ store *trustroot.Store }

func (c *trustedRootCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{rootInfoDesc, rootRefreshedDesc, rootAgeDesc, rootRefreshesDesc, rootFailuresDesc, rootFallbacksDesc} {
		ch <- d
	}
}

func (c *trustedRootCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, s := range c.store.Statuses() {
		ch <- prometheus.MustNewConstMetric(rootInfoDesc, prometheus.GaugeValue, 1, s.Spec, string(s.Source), s.Version)
		since, stamp := s.LastSuccess, 0.0
		if since.IsZero() {
			since = s.Loaded
		} else {
			stamp = float64(since.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(rootRefreshedDesc, prometheus.GaugeValue, stamp, s.Spec)
		ch <- prometheus.MustNewConstMetric(rootAgeDesc, prometheus.GaugeValue, now.Sub(since).Seconds(), s.Spec)
	}
	pg := c.store.PublicGood()
	ch <- prometheus.MustNewConstMetric(rootRefreshesDesc, prometheus.CounterValue, float64(pg.Refreshes.Load()))
	ch <- prometheus.MustNewConstMetric(rootFailuresDesc, prometheus.CounterValue, float64(pg.Failures.Load()))
	ch <- prometheus.MustNewConstMetric(rootFallbacksDesc, prometheus.CounterValue, float64(pg.Fallbacks.Load()))
}
