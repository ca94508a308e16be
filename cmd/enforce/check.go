package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
)

// checkCommand loads a trust file exactly as serve would and exits non-zero
// with every error at file:line:column. The Helm chart runs it as a
// pre-install/pre-upgrade hook, so a broken file fails the release before any
// webhook is registered.
func checkCommand() *cli.Command {
	return &cli.Command{
		Name:  "check",
		Usage: "load a trust file as serve would (key files beside it included) and report every error",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "policy", Usage: "trust policy file", Value: "trust.yaml", EnvVars: []string{"SIGNET_POLICY"}},
		},
		Action: func(c *cli.Context) error {
			p, err := policy.LoadFile(c.String("policy"))
			if err != nil {
				return cliapp.Usagef("enforce", "%v", err)
			}
			fmt.Fprintf(c.App.Writer, "%s: ok, policy %s\n", c.String("policy"), p.Hash)
			return nil
		},
	}
}
