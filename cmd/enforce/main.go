// Command enforce is signet's Kubernetes admission webhook. It decides every
// image of every workload with the same engine and trust file as `sign
// verify`, and pins each image to the digest it verified.
package main

import (
	"embed"
	"os"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/internal/buildinfo"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
)

// help is the prose of every command's --help (cliapp.Setup).
//
//go:embed help
var help embed.FS

func main() {
	os.Exit(cliapp.Run(newApp(), os.Args, os.Stderr))
}

func newApp() *cli.App {
	app := &cli.App{
		Name:     "enforce",
		Usage:    "admission webhook: only images your trust policy accepts may run, pinned to the verified digest",
		Commands: []*cli.Command{serveCommand(), checkCommand(), certificateCommand()},
	}
	cliapp.Setup(app, help)
	return app
}

func serveCommand() *cli.Command {
	cfg := enforce.DefaultConfig()
	return &cli.Command{
		Name:   "serve",
		Usage:  "serve /mutate and /validate over TLS, health and metrics over plain HTTP",
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
	var err error
	if cfg.Keychain, err = cloudauth.FromFlags(c); err != nil {
		return cliapp.Usagef("enforce", "%v", err)
	}
	cfg.Version = buildinfo.Version()
	s, err := enforce.New(cfg)
	if err != nil {
		return cliapp.Usagef("enforce", "%v", err)
	}
	return cliapp.Serve("enforce", s.Run)
}
