// Command enforce is signet's Kubernetes admission webhook. It decides every
// image of every workload with the same engine and trust file as `sign
// verify`, and pins each image to the digest it verified.
package main

import (
	"embed"
	"os"

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
		Flags:  append(cliapp.Flags(&cfg), cloudauth.Flags("SIGNET_")...),
		Action: func(c *cli.Context) error { return serve(c, cfg) },
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
