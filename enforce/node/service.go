package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/containerd/nri/pkg/stub"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// Config is everything `signet-node run` takes. Each setting's flag, its
// SIGNET_NODE_ variable and its usage are its field's tags (cliapp.Flags),
// its default DefaultConfig's value.
type Config struct {
	// PolicyPath is the trust file (reloaded every ReloadInterval).
	PolicyPath string `flag:"policy" env:"SIGNET_NODE_POLICY" usage:"trust policy file"`
	// Socket is the runtime's NRI socket.
	Socket string `flag:"nri-socket" env:"SIGNET_NODE_NRI_SOCKET" usage:"the runtime's NRI socket"`
	// VerdictPublicKey is a path to the webhook's verdict keys (PEM); ""
	// verifies every container.
	VerdictPublicKey string        `flag:"verdict-public-key" env:"SIGNET_NODE_VERDICT_PUBLIC_KEY" usage:"PEM public key(s) of the webhook's verdicts (empty: verify every container)"`
	VerdictMaxAge    time.Duration `flag:"verdict-max-age" env:"SIGNET_NODE_VERDICT_MAX_AGE" usage:"how old a verdict may be"`
	Budget           time.Duration `flag:"budget" env:"SIGNET_NODE_BUDGET" usage:"time to verify one container, below the runtime's NRI request timeout (2s)"`
	Exempt           []string      `flag:"exempt-namespace" env:"SIGNET_NODE_EXEMPT_NAMESPACE" usage:"namespaces never checked besides the trust file's exempt ones (signet's own)"`
	// UndecidedDefault ("deny" or "allow") and UndecidedAllow are the
	// Undecided policy (ParseUndecided).
	UndecidedDefault string   `flag:"undecided" env:"SIGNET_NODE_UNDECIDED" usage:"what a container that could not be decided in time gets outside --undecided-allow: deny or allow"`
	UndecidedAllow   []string `flag:"undecided-allow" env:"SIGNET_NODE_UNDECIDED_ALLOW" usage:"namespaces whose undecided containers start (the node's own system pods)"`
	// OpsListen is health and metrics' address.
	OpsListen      string        `flag:"ops-listen" env:"SIGNET_NODE_OPS_LISTEN" usage:"health and metrics address (plain HTTP)"`
	ReloadInterval time.Duration `flag:"reload-interval" env:"SIGNET_NODE_RELOAD_INTERVAL" usage:"how often the trust file is checked for changes"`
	Offline        bool          `flag:"offline" env:"SIGNET_NODE_OFFLINE" usage:"use the embedded public-good trusted root instead of TUF"`
	// RegistriesPath, if set, is the registries file the webhook reads too
	// (mirrors, CA bundles, plain HTTP: regclient.LoadRegistries).
	RegistriesPath string `flag:"registries" env:"SIGNET_NODE_REGISTRIES" usage:"registries file, as enforce serve --registries reads it: per registry host a mirror, a CA bundle, plain-HTTP permission; none: TLS everywhere, plain HTTP only to loopback"`
	// Keychain is the node's own registry identity.
	Keychain authn.Keychain
	Log      *slog.Logger
}

// DefaultConfig is the Config `signet-node run` starts from: the defaults
// its flags show.
func DefaultConfig() Config {
	return Config{PolicyPath: "trust.yaml", Socket: "/var/run/nri/nri.sock", VerdictMaxAge: DefaultVerdictMaxAge, Budget: DefaultBudget,
		UndecidedDefault: "deny", UndecidedAllow: slices.Clone(DefaultUndecidedAllow), OpsListen: ":9091", ReloadInterval: enforce.DefaultReloadInterval}
}

// Service is `signet-node run`: the Guard over the engine's flow (through
// enforce's Cache), its NRI plugin, metrics and health, built from a
// Config.
type Service struct {
	cfg      Config
	reloader *enforce.Reloader
	roots    *enforce.TrustedRoots
	guard    *Guard
}

// New builds the service: the trust file and the verdict keys are loaded
// (an error here is a configuration error), nothing is contacted.
func New(cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("source", "node")
	}
	undecided, err := ParseUndecided(cfg.UndecidedDefault, cfg.UndecidedAllow)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, reloader: &enforce.Reloader{PolicyPath: cfg.PolicyPath, Log: cfg.Log}}
	if err := s.reloader.Load(); err != nil {
		return nil, err
	}
	s.roots = &enforce.TrustedRoots{Policy: s.reloader.Policy, Log: cfg.Log,
		Store: trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: cfg.Offline}))}
	regs, err := regclient.LoadRegistries(cfg.RegistriesPath)
	if err != nil {
		return nil, err
	}
	verifier := verify.New(verify.WithKeychain(cfg.Keychain), verify.WithTrustedRoots(s.roots.Store),
		verify.WithRegistry(regclient.New(regclient.WithHostConcurrency(regclient.DefaultHostConcurrency), regclient.WithRegistries(regs))))
	s.guard = &Guard{Policy: s.reloader.Policy, Budget: cfg.Budget, VerdictMaxAge: cfg.VerdictMaxAge, Exempt: cfg.Exempt, Undecided: undecided,
		// Verifications outlive one request's budget, so the runtime's retry
		// of a refused container finds the decision kept.
		Decider: enforce.NewCache(verifier, enforce.CacheConfig{VerifyTimeout: enforce.VerifyTimeout(enforce.DefaultDeadline)})}
	if path := cfg.VerdictPublicKey; path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if s.guard.Verdicts, err = verdict.NewVerifier(pem); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run decides every container creation until ctx ends: it serves health
// and metrics, follows the trust file and the trusted root, and stays
// registered with the runtime, reconnecting when it restarts.
func (s *Service) Run(ctx context.Context) error {
	ops, err := net.Listen("tcp", s.cfg.OpsListen)
	if err != nil {
		return err
	}
	go s.reloader.Watch(ctx, s.cfg.ReloadInterval)
	if !s.cfg.Offline {
		go s.roots.Run(ctx)
	}
	metrics := NewMetrics(s.guard.Policy)
	logDecision := LogDecision(s.cfg.Log)
	plugin := &Plugin{Guard: s.guard, Observe: func(req Request, r Result) {
		metrics.Record(req, r)
		logDecision(req, r)
	}}
	var connected atomic.Bool
	go serveOps(ctx, ops, metrics.Handler(), &connected)
	return connect(ctx, s.cfg.Socket, plugin, &connected, s.cfg.Log)
}

// connect registers with the runtime and stays connected, reconnecting
// (the runtime restarts, the socket appears late at boot) until ctx ends.
func connect(ctx context.Context, socket string, plugin *Plugin, connected *atomic.Bool, log *slog.Logger) error {
	for backoff := 100 * time.Millisecond; ; {
		s, err := stub.New(plugin, stub.WithPluginName(PluginName), stub.WithPluginIdx("10"), stub.WithSocketPath(socket),
			stub.WithOnClose(func() { connected.Store(false) }))
		if err != nil {
			return err
		}
		if err = s.Start(ctx); err == nil {
			connected.Store(true)
			log.Info("connected to the runtime's NRI socket", "socket", socket, "runtimeNRI", s.RuntimeNRIVersion(), "requestTimeout", s.RequestTimeout().String())
			backoff = 100 * time.Millisecond
			stopped := make(chan struct{})
			go func() {
				select {
				case <-ctx.Done():
					s.Stop()
				case <-stopped:
				}
			}()
			s.Wait()
			close(stopped)
			connected.Store(false)
			log.Warn("NRI connection closed; reconnecting", "socket", socket)
		} else {
			log.Warn("cannot register with the runtime; retrying", "socket", socket, "err", err, "retryIn", backoff.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// serveOps serves /metrics, and /healthz: 200 while connected to the runtime.
func serveOps(ctx context.Context, l net.Listener, metrics http.Handler, connected *atomic.Bool) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !connected.Load() {
			http.Error(w, "not connected to the runtime's NRI socket", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Error("ops server", "err", err)
	}
}
