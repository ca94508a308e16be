// Command enforce is signet's Kubernetes admission webhook. It decides every
// image of every workload with the same engine and trust file as `sign
// verify`, and pins each image to the digest it verified.
package main

import (
	"context"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/background"
	"github.com/signet-dev/signet/internal/buildinfo"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
	"github.com/signet-dev/signet/regclient"
)

func main() {
	os.Exit(cliapp.Run(newApp(), os.Args, os.Stderr))
}

func newApp() *cli.App {
	app := &cli.App{
		Name:  "enforce",
		Usage: "admission webhook: only images your trust policy accepts may run, pinned to the verified digest",
		Description: `Usually installed with the Helm chart (deploy/charts/signet-enforce), which
registers the validating and mutating webhooks and mounts trust.yaml.

Example:
   enforce serve --policy trust.yaml --tls-cert tls.crt --tls-key tls.key

Environment: every flag of serve has a SIGNET_ variable (enforce serve --help).

Exit status: 0 after a clean shutdown (SIGTERM), 2 usage or configuration
error (bad flags, an invalid trust file or TLS key pair at start), 4 runtime
failure (an address in use).`,
		Commands: []*cli.Command{serveCommand(), checkCommand()},
	}
	cliapp.Setup(app)
	return app
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "serve /mutate and /validate over TLS, health and metrics over plain HTTP",
		Description: `The trust file, every file it names (key files, a private trusted root),
the TLS certificate and the client CA are reloaded when their content changes;
an invalid new trust file is logged and the last good one stays in force. The public-good trusted root
is refreshed through TUF every --trusted-root-refresh; when TUF is unreachable
the last good root stays (signet_trusted_root_* metrics say which is in force).

Example:
   enforce serve --policy /etc/signet/trust.yaml \
     --tls-cert /tls/tls.crt --tls-key /tls/tls.key --listen :8443 --ops-listen :9090

Environment: every flag has a SIGNET_ variable (shown below); registry
credentials for the webhook's own identity come from the Docker config and,
only for the registry hosts listed for each provider, from the cloud workload
identity (--google-registries, --ecr-registries, --acr-registries; none by
default): for example
   enforce serve ... --acr-registries 'acme.azurecr.io,*.azurecr.io' \
     --ecr-registries '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
A host pattern is an exact host[:port] or *.domain ("*" is one DNS label);
hosts compare as the runtime dials them, never by substring or suffix.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "policy", Usage: "trust policy file", Value: "trust.yaml", EnvVars: []string{"SIGNET_POLICY"}},
			&cli.StringFlag{Name: "tls-cert", Usage: "serving certificate (PEM)", Required: true, EnvVars: []string{"SIGNET_TLS_CERT"}},
			&cli.StringFlag{Name: "tls-key", Usage: "serving key (PEM)", Required: true, EnvVars: []string{"SIGNET_TLS_KEY"}},
			&cli.StringFlag{Name: "client-ca-file", Usage: "CA bundle (PEM) the apiserver's client certificate must chain to; when set, every webhook connection must present one (docs/apiserver-auth.md)", EnvVars: []string{"SIGNET_CLIENT_CA_FILE"}},
			&cli.StringFlag{Name: "listen", Usage: "webhook address (TLS)", Value: ":8443", EnvVars: []string{"SIGNET_LISTEN"}},
			&cli.StringFlag{Name: "ops-listen", Usage: "health and metrics address (plain HTTP)", Value: ":9090", EnvVars: []string{"SIGNET_OPS_LISTEN"}},
			&cli.DurationFlag{Name: "deadline", Usage: "time budget per admission request (kept below the webhook timeout)", Value: enforce.DefaultDeadline, EnvVars: []string{"SIGNET_DEADLINE"}},
			&cli.DurationFlag{Name: "reload-interval", Usage: "how often the trust file and certificate are checked for changes", Value: enforce.DefaultReloadInterval, EnvVars: []string{"SIGNET_RELOAD_INTERVAL"}},
			&cli.DurationFlag{Name: "cache-ttl", Usage: "how long an allowed decision is cached (per digest and policy hash)", Value: enforce.DefaultPositiveTTL, EnvVars: []string{"SIGNET_CACHE_TTL"}},
			&cli.DurationFlag{Name: "negative-cache-ttl", Usage: "how long a denial is cached", Value: enforce.DefaultNegativeTTL, EnvVars: []string{"SIGNET_NEGATIVE_CACHE_TTL"}},
			&cli.IntFlag{Name: "cache-size", Usage: "maximum cached decisions", Value: enforce.DefaultCacheSize, EnvVars: []string{"SIGNET_CACHE_SIZE"}},
			&cli.IntFlag{Name: "registry-concurrency", Usage: "maximum concurrent requests to one registry host", Value: regclient.DefaultHostConcurrency, EnvVars: []string{"SIGNET_REGISTRY_CONCURRENCY"}},
			&cli.IntFlag{Name: "max-images-per-review", Usage: "maximum images one admission may ask to decide (containers, init and ephemeral containers, image volumes; on UPDATE the changed ones); a review with more is denied", Value: enforce.DefaultMaxImages, EnvVars: []string{"SIGNET_MAX_IMAGES_PER_REVIEW"}},
			&cli.IntFlag{Name: "metrics-namespaces", Usage: "distinct namespaces that get their own metric label value; later ones are counted as _other", Value: enforce.DefaultMetricNamespaces, EnvVars: []string{"SIGNET_METRICS_NAMESPACES"}},
			&cli.IntFlag{Name: "max-in-flight", Usage: "maximum verifications and tag resolutions in flight at once, over all registries; beyond it an image waits for one to end, then is denied as overloaded (never cached)", Value: enforce.DefaultMaxInFlight, EnvVars: []string{"SIGNET_MAX_IN_FLIGHT"}},
			&cli.IntFlag{Name: "max-connections", Usage: "maximum open webhook connections; at the limit the one idle or slow the longest is closed", Value: enforce.DefaultMaxConnections, EnvVars: []string{"SIGNET_MAX_CONNECTIONS"}},
			&cli.IntFlag{Name: "max-connections-per-client", Usage: "maximum open webhook connections of one client IP without a verified client certificate (default a quarter of --max-connections)", EnvVars: []string{"SIGNET_MAX_CONNECTIONS_PER_CLIENT"}},
			&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig for reading pull secrets (default: the in-cluster service account)", EnvVars: []string{"SIGNET_KUBECONFIG"}},
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of TUF", EnvVars: []string{"SIGNET_OFFLINE"}},
			verdictKeyFlag,
			&cli.DurationFlag{Name: "trusted-root-refresh", Usage: "how often the public-good trusted root is refreshed through TUF (the last good root stays when TUF is down)", Value: enforce.DefaultTrustedRootRefresh, EnvVars: []string{"SIGNET_TRUSTED_ROOT_REFRESH"}},
		}, slices.Concat(cloudauth.Flags("SIGNET_"), backgroundFlags())...),
		Action: serve,
	}
}

// serve is the Config the flags say, served until SIGTERM.
func serve(c *cli.Context) error {
	clouds, err := cloudauth.FromFlags(c)
	if err != nil {
		return cliapp.Usagef("enforce", "%v", err)
	}
	s, err := enforce.New(enforce.Config{
		PolicyPath: c.String("policy"), CertFile: c.String("tls-cert"), KeyFile: c.String("tls-key"), ClientCAFile: c.String("client-ca-file"),
		Listen: c.String("listen"), OpsListen: c.String("ops-listen"), Deadline: c.Duration("deadline"), ReloadInterval: c.Duration("reload-interval"),
		Cache: enforce.CacheConfig{Size: c.Int("cache-size"), PositiveTTL: c.Duration("cache-ttl"), NegativeTTL: c.Duration("negative-cache-ttl"),
			MaxAge: c.Duration("scan-max-age"), MaxInFlight: c.Int("max-in-flight")},
		RegistryConcurrency: c.Int("registry-concurrency"), MaxImages: c.Int("max-images-per-review"), MetricsNamespaces: c.Int("metrics-namespaces"),
		MaxConnections: c.Int("max-connections"), MaxConnectionsPerClient: c.Int("max-connections-per-client"),
		Kubeconfig: c.String("kubeconfig"), Keychain: cloudauth.Keychain(clouds), Offline: c.Bool("offline"),
		TrustedRootRefresh: c.Duration("trusted-root-refresh"), VerdictKey: c.String("verdict-key"),
		Background: enforce.BackgroundConfig{Enabled: c.Bool("background-scan"), Interval: c.Duration("scan-interval"), Concurrency: c.Int("scan-concurrency"),
			Lease: background.Lease{Namespace: c.String("lease-namespace"), Name: c.String("lease-name"), Identity: c.String("lease-identity"), Duration: c.Duration("lease-duration")}},
		Version: buildinfo.Version(),
	})
	if err != nil {
		return cliapp.Usagef("enforce", "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// An address in use is a local failure (4), not the network's (3).
	if err := s.Run(ctx); err != nil {
		return cliapp.Exit(cliapp.ExitFailure, "enforce: "+err.Error())
	}
	return nil
}
