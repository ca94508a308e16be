package enforce

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signet-dev/signet/enforce/background"
	"github.com/signet-dev/signet/policyreport"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verdict"
	"github.com/signet-dev/signet/verify"
)

// Config is everything `enforce serve` takes. Each setting's flag, its
// SIGNET_ variable and its usage are its field's tags (cliapp.Flags), its
// default DefaultConfig's value. Zero values take the defaults the flags show.
type Config struct {
	// PolicyPath is the trust file; CertFile and KeyFile the serving key
	// pair; ClientCAFile, if set, the CAs a client certificate must chain
	// to. All are reloaded when their content changes.
	PolicyPath   string `flag:"policy" env:"SIGNET_POLICY" usage:"trust policy file"`
	CertFile     string `flag:"tls-cert" env:"SIGNET_TLS_CERT" usage:"serving certificate (PEM)" required:"true"`
	KeyFile      string `flag:"tls-key" env:"SIGNET_TLS_KEY" usage:"serving key (PEM)" required:"true"`
	ClientCAFile string `flag:"client-ca-file" env:"SIGNET_CLIENT_CA_FILE" usage:"CA bundle (PEM) the apiserver's client certificate must chain to; when set, every webhook connection must present one (docs/apiserver-auth.md)"`
	// Listen is the webhook's address (TLS), OpsListen health and metrics'.
	Listen    string `flag:"listen" env:"SIGNET_LISTEN" usage:"webhook address (TLS)"`
	OpsListen string `flag:"ops-listen" env:"SIGNET_OPS_LISTEN" usage:"health and metrics address (plain HTTP)"`
	// Deadline is each admission's time budget (DefaultDeadline);
	// ReloadInterval how often the files are checked.
	Deadline       time.Duration `flag:"deadline" env:"SIGNET_DEADLINE" usage:"time budget per admission request (kept below the webhook timeout)"`
	ReloadInterval time.Duration `flag:"reload-interval" env:"SIGNET_RELOAD_INTERVAL" usage:"how often the trust file and certificate are checked for changes"`
	// Cache sizes and times the decision store and the tag cache; its
	// VerifyTimeout defaults to VerifyTimeout(Deadline).
	Cache CacheConfig
	// RegistryConcurrency bounds requests per registry host
	// (regclient.DefaultHostConcurrency).
	RegistryConcurrency int `flag:"registry-concurrency" env:"SIGNET_REGISTRY_CONCURRENCY" usage:"maximum concurrent requests to one registry host"`
	// MaxImages bounds the images one review decides (DefaultMaxImages);
	// MetricsNamespaces the namespace label values (DefaultMetricNamespaces).
	MaxImages         int `flag:"max-images-per-review" env:"SIGNET_MAX_IMAGES_PER_REVIEW" usage:"maximum images one admission may ask to decide (containers, init and ephemeral containers, image volumes; on UPDATE the changed ones); a review with more is denied"`
	MetricsNamespaces int `flag:"metrics-namespaces" env:"SIGNET_METRICS_NAMESPACES" usage:"distinct namespaces that get their own metric label value; later ones are counted as _other"`
	// MaxConnections and MaxConnectionsPerClient bound webhook connections
	// (ServerConfig).
	MaxConnections          int `flag:"max-connections" env:"SIGNET_MAX_CONNECTIONS" usage:"maximum open webhook connections; at the limit the one idle or slow the longest is closed"`
	MaxConnectionsPerClient int `flag:"max-connections-per-client" env:"SIGNET_MAX_CONNECTIONS_PER_CLIENT" usage:"maximum open webhook connections of one client IP without a verified client certificate (default a quarter of --max-connections)"`
	// RegistriesPath, if set, is the registries file (mirrors, CA bundles,
	// plain HTTP: regclient.LoadRegistries), read once at start. Without
	// one every registry is read over TLS, plain HTTP only to loopback.
	RegistriesPath string `flag:"registries" env:"SIGNET_REGISTRIES" usage:"registries file: per registry host a mirror to read it from, a CA bundle, plain-HTTP permission (see above); none: every registry over TLS with the system's CAs, plain HTTP only to loopback"`
	// Kubeconfig reaches the API server (pull secrets, namespace labels,
	// events, the background verifier); "" for the in-cluster service
	// account. Without the API server the webhook still serves.
	Kubeconfig string `flag:"kubeconfig" env:"SIGNET_KUBECONFIG" usage:"kubeconfig for reading pull secrets (default: the in-cluster service account)"`
	// Keychain is the webhook's own registry identity (the Docker config,
	// the cloud identities of the listed hosts), after a pod's pull secrets.
	Keychain authn.Keychain
	// Offline verifies against the embedded public-good trusted root;
	// otherwise it is refreshed through TUF every TrustedRootRefresh.
	Offline bool `flag:"offline" env:"SIGNET_OFFLINE" usage:"use the embedded public-good trusted root instead of TUF"`
	// VerdictKey, if set, signs a verdict onto each admitted pod for
	// signet-node: an ed25519 PEM private key, or a path to one.
	VerdictKey         string        `flag:"verdict-key" env:"SIGNET_VERDICT_KEY" usage:"ed25519 PEM private key (a path, or the PEM itself, e.g. from a Secret through the environment) to sign a verdict onto each admitted pod for signet-node (signet-node keygen); empty: no verdicts"`
	TrustedRootRefresh time.Duration `flag:"trusted-root-refresh" env:"SIGNET_TRUSTED_ROOT_REFRESH" usage:"how often the public-good trusted root is refreshed through TUF (the last good root stays when TUF is down)"`
	Background         BackgroundConfig
	Version            string
	Log                *slog.Logger
}

// DefaultConfig is the Config `enforce serve` starts from: the defaults
// its flags show.
func DefaultConfig() Config {
	return Config{PolicyPath: "trust.yaml", Listen: ":8443", OpsListen: ":9090", Deadline: DefaultDeadline, ReloadInterval: DefaultReloadInterval,
		Cache:               CacheConfig{Size: DefaultCacheSize, PositiveTTL: DefaultPositiveTTL, NegativeTTL: DefaultNegativeTTL, MaxAge: DefaultMaxAge, MaxInFlight: DefaultMaxInFlight},
		RegistryConcurrency: regclient.DefaultHostConcurrency, MaxImages: DefaultMaxImages, MetricsNamespaces: DefaultMetricNamespaces,
		MaxConnections: DefaultMaxConnections, TrustedRootRefresh: DefaultTrustedRootRefresh,
		Background: BackgroundConfig{Enabled: true, Interval: background.DefaultInterval, Concurrency: 2,
			Lease: background.Lease{Name: background.DefaultLeaseName, Duration: background.DefaultLeaseDuration}}}
}

// BackgroundConfig configures the background verifier (one replica,
// elected by a Lease, writes PolicyReports).
type BackgroundConfig struct {
	Enabled bool `flag:"background-scan" env:"SIGNET_BACKGROUND_SCAN" usage:"verify every running pod's images in the background and write PolicyReports (one replica, elected by a Lease)"`
	// Interval between periodic passes (background.DefaultInterval);
	// Concurrency the verifications one pass runs at once.
	Interval    time.Duration `flag:"scan-interval" env:"SIGNET_SCAN_INTERVAL" usage:"time between periodic background passes (denials are re-checked each pass)"`
	Concurrency int           `flag:"scan-concurrency" env:"SIGNET_SCAN_CONCURRENCY" usage:"verifications a background pass runs at once (kept low: admissions come first)"`
	// Lease's Namespace defaults to the pod's (background.PodNamespace).
	Lease background.Lease
}

// Service is `enforce serve`: the webhook (handler, the engine's flow with
// the decision store and the tag cache in front of it), its reloader,
// trusted roots, metrics and events, and the background verifier, built
// from a Config and run until its context ends.
type Service struct {
	cfg      Config
	log      *slog.Logger
	reloader *Reloader
	roots    *TrustedRoots
	cache    *Cache
	metrics  *Metrics
	handler  *Handler
	record   []func(*Admission)
	verifier *verify.Verifier
}

// New builds the service: the files are loaded (an invalid trust file,
// key pair or verdict key is an error here, before anything serves), and
// nothing is contacted until Run.
func New(cfg Config) (*Service, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	cfg.Deadline = orDefault(cfg.Deadline, DefaultDeadline)
	cfg.Cache.VerifyTimeout = orDefault(cfg.Cache.VerifyTimeout, VerifyTimeout(cfg.Deadline))
	s := &Service{cfg: cfg, log: cfg.Log}
	s.reloader = &Reloader{PolicyPath: cfg.PolicyPath, CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, ClientCAFile: cfg.ClientCAFile, Log: cfg.Log}
	if err := s.reloader.Load(); err != nil {
		return nil, err
	}
	s.roots = &TrustedRoots{Interval: cfg.TrustedRootRefresh, Policy: s.reloader.Policy, Log: cfg.Log,
		Store: trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: cfg.Offline}))}
	regs, err := regclient.LoadRegistries(cfg.RegistriesPath)
	if err != nil {
		return nil, err
	}
	s.verifier = verify.New(verify.WithKeychain(cfg.Keychain), verify.WithTrustedRoots(s.roots.Store),
		verify.WithRegistry(regclient.New(regclient.WithHostConcurrency(cfg.RegistryConcurrency), regclient.WithRegistries(regs))))
	s.cache = NewCache(s.verifier, cfg.Cache)
	s.metrics = NewMetrics(s.cache, s.reloader, WithVersion(cfg.Version), WithNamespaces(cfg.MetricsNamespaces))
	s.metrics.RegisterTrustedRoots(s.roots)
	// Each admission is recorded once (Admission.Decides); events join the
	// recorders when the API server is reachable, before serving starts.
	s.record = []func(*Admission){LogAdmission(cfg.Log), s.metrics.Record}
	s.handler = &Handler{Decider: s.cache, Policy: s.reloader.Policy, MaxImages: cfg.MaxImages, OnAdmission: s.onAdmission}
	signer, err := verdictSigner(cfg.VerdictKey)
	if err != nil {
		return nil, fmt.Errorf("verdict key: %w", err)
	}
	if signer != nil { // a nil *Signer in the interface would not be nil
		s.handler.Verdicts = signer
	}
	return s, nil
}

func (s *Service) onAdmission(a *Admission) {
	for _, f := range s.record {
		f(a)
	}
}

// Run serves until ctx ends: the trusted roots' refresh, the API server's
// part (pull secrets, namespace labels, events, the background verifier)
// when it is reachable, and the webhook and ops servers.
func (s *Service) Run(ctx context.Context) error {
	if !s.cfg.Offline {
		go s.roots.Run(ctx)
	}
	if kcfg, kc, err := kubeClient(s.cfg.Kubeconfig); err != nil {
		s.log.Warn("no Kubernetes API access: imagePullSecrets are not used, no events are recorded, no background verification", "err", err)
	} else {
		s.handler.Credentials = (&PullSecrets{Client: kc}).Keychain
		s.handler.NamespaceLabels = NewNamespaceLabelCache(kc, 0).Labels
		s.startBackground(ctx, kcfg, kc)
		events := &Events{Client: kc, Log: s.log}
		events.Start(ctx, 1024)
		s.record = append(s.record, events.Record)
	}
	ln, err := net.Listen("tcp", cmp.Or(s.cfg.Listen, ":8443"))
	if err != nil {
		return err
	}
	ops, err := net.Listen("tcp", cmp.Or(s.cfg.OpsListen, ":9090"))
	if err != nil {
		ln.Close()
		return err
	}
	return Serve(ctx, ServerConfig{
		Listener: ln, OpsListener: ops, Reloader: s.reloader, ReloadInterval: s.cfg.ReloadInterval, Log: s.log,
		Deadline: s.cfg.Deadline, MaxConnections: s.cfg.MaxConnections, MaxConnectionsPerClient: s.cfg.MaxConnectionsPerClient,
		Webhook: s.metrics.Wrap(&Webhook{Handler: s.handler, Deadline: s.cfg.Deadline, Log: s.log,
			TrustConfig: NewTrustConfig(s.cfg.PolicyPath)}),
		Metrics: s.metrics.Handler(),
	})
}

// startBackground starts the background verifier when it is enabled: the
// webhook's Cache, asked with Background requests (so its decisions and
// the admissions' answer each other), a pod's pull secrets, PolicyReports.
func (s *Service) startBackground(ctx context.Context, kcfg *rest.Config, kc kubernetes.Interface) {
	b := s.cfg.Background
	if !b.Enabled {
		s.log.Info("background verifier disabled (--background-scan=false): no PolicyReports are written")
		return
	}
	dyn, err := dynamic.NewForConfig(kcfg)
	if err != nil {
		s.log.Error("background verifier disabled: no dynamic client", "err", err)
		return
	}
	pullSecrets := &PullSecrets{Client: kc}
	engine := &scan.Engine{Decider: s.cache, Background: true, Concurrency: b.Concurrency,
		Credentials: func(ctx context.Context, pod *scan.Pod) authn.Keychain {
			kc, _ := pullSecrets.Keychain(ctx, pod.Namespace, &Workload{PullSecrets: pod.PullSecrets, ServiceAccount: pod.ServiceAccount})
			return kc
		}}
	writer := &policyreport.Writer{Client: dyn}
	m := background.NewMetrics(s.cache.Stats.BackgroundHits.Load, s.cache.Stats.BackgroundMisses.Load, writer)
	s.metrics.Register(m.Collectors()...)
	lease := b.Lease
	lease.Namespace = cmp.Or(lease.Namespace, background.PodNamespace())
	scanner := background.New(background.Config{
		Client: kc, Reports: writer, Engine: engine, RootVersion: s.verifier.RootVersion, Policy: s.reloader.Policy,
		NamespaceLabels: s.handler.NamespaceLabels, Interval: b.Interval, Log: s.log, Metrics: m, Lease: lease,
	})
	go func() {
		if err := scanner.Run(ctx); err != nil {
			s.log.Error("background verifier stopped", "err", err)
		}
	}()
}

// kubeClient connects to the API server: in-cluster by default, or
// through a kubeconfig.
func kubeClient(kubeconfig string) (*rest.Config, kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, nil, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	return cfg, kc, err
}

// verdictSigner reads a verdict key, the PEM itself or a path to it; nil
// when there is none.
func verdictSigner(key string) (*verdict.Signer, error) {
	if key == "" {
		return nil, nil
	}
	pem := []byte(key)
	if !strings.HasPrefix(strings.TrimSpace(key), "-----BEGIN") {
		var err error
		if pem, err = os.ReadFile(key); err != nil {
			return nil, err
		}
	}
	return verdict.NewSigner(pem)
}
