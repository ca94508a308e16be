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
	"github.com/signet-dev/signet/internal/buildinfo"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
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
		Commands: []*cli.Command{serveCommand(), checkCommand(), certificateCommand()},
	}
	cliapp.Setup(app)
	return app
}

func serveCommand() *cli.Command {
	cfg := enforce.DefaultConfig()
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
hosts compare as the runtime dials them, never by substring or suffix.

Registries (--registries FILE, the chart's registries value): where to read
a registry's images from inside the pod, like containerd's hosts.toml on a
node, one entry per host as image references name it:
   registries:
     - {host: localhost:32000, mirror: "http://10.152.183.20:5000", plainHTTP: true}
     - {host: docker.io, mirror: "https://mirror.corp.example"}
     - {host: harbor.corp.example, caFile: harbor-ca.crt}
The decision and the pin keep the name the workload gives; a mirror is read
with its own credentials. Plain HTTP only to loopback and hosts listed with
plainHTTP: true.`,
		Flags:  slices.Concat(cliapp.Flags(&cfg), cacheFlags(&cfg.Cache), cloudauth.Flags("SIGNET_")),
		Action: func(c *cli.Context) error { return serve(c, cfg) },
	}
}

// cacheFlags size and time the decision store (enforce.CacheConfig).
func cacheFlags(cc *enforce.CacheConfig) []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "cache-ttl", Usage: "how long an allowed decision is cached (per digest and policy hash)", Value: cc.PositiveTTL, Destination: &cc.PositiveTTL, EnvVars: []string{"SIGNET_CACHE_TTL"}},
		&cli.DurationFlag{Name: "negative-cache-ttl", Usage: "how long a denial is cached", Value: cc.NegativeTTL, Destination: &cc.NegativeTTL, EnvVars: []string{"SIGNET_NEGATIVE_CACHE_TTL"}},
		&cli.IntFlag{Name: "cache-size", Usage: "maximum cached decisions", Value: cc.Size, Destination: &cc.Size, EnvVars: []string{"SIGNET_CACHE_SIZE"}},
		&cli.IntFlag{Name: "max-in-flight", Usage: "maximum verifications and tag resolutions in flight at once, over all registries; beyond it an image waits for one to end, then is denied as overloaded (never cached)", Value: cc.MaxInFlight, Destination: &cc.MaxInFlight, EnvVars: []string{"SIGNET_MAX_IN_FLIGHT"}},
		&cli.DurationFlag{Name: "scan-max-age", Usage: "how long a passing digest's decision is reused by background passes before the registry is asked again", Value: cc.MaxAge, Destination: &cc.MaxAge, EnvVars: []string{"SIGNET_SCAN_MAX_AGE"}},
	}
}

// serve runs cfg, which the flags filled, until SIGTERM.
func serve(c *cli.Context, cfg enforce.Config) error {
	clouds, err := cloudauth.FromFlags(c)
	if err != nil {
		return cliapp.Usagef("enforce", "%v", err)
	}
	cfg.Keychain, cfg.Version = cloudauth.Keychain(clouds), buildinfo.Version()
	s, err := enforce.New(cfg)
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
