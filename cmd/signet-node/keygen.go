package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/verdict"
)

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "write a verdict key pair: verdict.key for the webhook, verdict.pub for the nodes",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out-dir", Usage: "directory to write verdict.key and verdict.pub to", Value: ".", EnvVars: []string{"SIGNET_NODE_OUT_DIR"}},
		},
		Action: func(c *cli.Context) error {
			paths, err := verdict.WriteKeyPair(c.String("out-dir"))
			if err != nil {
				return cliapp.Exit(cliapp.ExitFailure, "signet-node: "+err.Error())
			}
			fmt.Fprintln(c.App.Writer, strings.Join(paths, "\n"))
			return nil
		},
	}
}
