package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce/node"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
)

func runCommand() *cli.Command {
	cfg := node.DefaultConfig()
	return &cli.Command{
		Name:   "run",
		Usage:  "connect to the runtime's NRI socket and decide every container creation",
		Flags:  append(cliapp.Flags(&cfg), cloudauth.Flags("SIGNET_NODE_")...),
		Action: func(c *cli.Context) error { return run(c, cfg) },
	}
}

// run runs cfg, which the flags filled, until SIGTERM.
func run(c *cli.Context, cfg node.Config) error {
	var err error
	if cfg.Keychain, err = cloudauth.FromFlags(c); err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	s, err := node.New(cfg)
	if err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	return cliapp.Serve("signet-node", s.Run)
}
