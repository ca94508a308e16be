package background

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/scan"
)

// Config is everything a Scanner needs.
type Config struct {
	Client  kubernetes.Interface
	Reports *policyreport.Writer
	// Engine decides targets; its Decider should be the webhook's Cache, so
	// scans and admissions share decisions, flights and registry limits.
	Engine *scan.Engine
	// RootVersion is the version of the trusted root a policy's
	// identities need (verify.Verifier.RootVersion): a new one starts a
	// full pass.
	RootVersion func(ctx context.Context, p *policy.Policy) (string, error)
	// Policy returns the trust policy in force (it may be reloaded).
	Policy func() *policy.Policy
	// NamespaceLabels, if set, reads labels for the trust file's
	// auditLabels/exemptLabels (unknown labels: enforced).
	NamespaceLabels func(ctx context.Context, namespace string) (map[string]string, error)
	// Interval between periodic passes (default 1h). A periodic pass asks
	// the registry again about denials; passing digests are re-verified
	// once the decision store finds them older than its MaxAge.
	Interval time.Duration
	// Poll is how often the policy hash and trusted root version are
	// compared with the last pass's (default 2s).
	Poll time.Duration
	// Settle is how long pod changes are gathered before they are decided
	// and written (default 500ms): a rollout is one write per namespace,
	// not one per pod.
	Settle time.Duration
	Lease  Lease
	Log    *slog.Logger
	// Metrics, if set, records passes.
	Metrics *Metrics
}

// DefaultInterval is Config.Interval's default.
const DefaultInterval = time.Hour

// Scanner is the background verifier. Run it in every replica; only the
// leader scans.
type Scanner struct {
	cfg     Config
	leading atomic.Bool
	// passes counts completed full passes (tests wait on it).
	passes atomic.Int64
}

// New returns a Scanner with cfg's defaults filled in.
func New(cfg Config) *Scanner {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 500 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Lease.Identity == "" {
		cfg.Lease.Identity, _ = os.Hostname()
	}
	if cfg.Lease.Name == "" {
		cfg.Lease.Name = DefaultLeaseName
	}
	return &Scanner{cfg: cfg}
}

// Run campaigns for the lease and scans while leading, until ctx ends.
func (s *Scanner) Run(ctx context.Context) error {
	s.cfg.Log.Info("background verifier campaigning", "lease", s.cfg.Lease.Namespace+"/"+s.cfg.Lease.Name, "identity", s.cfg.Lease.Identity)
	return elect(ctx, s.cfg.Client, s.cfg.Lease, s.lead, func(leading bool) {
		if s.leading.Swap(leading) != leading {
			s.cfg.Log.Info("background verifier leadership", "leading", leading, "identity", s.cfg.Lease.Identity)
		}
		if s.cfg.Metrics != nil {
			s.cfg.Metrics.setLeader(leading)
		}
	})
}

// Leading reports whether this replica is the one that scans.
func (s *Scanner) Leading() bool { return s.leading.Load() }
