package main

import (
	"github.com/urfave/cli/v2"
)

// verdictKeyFlag is the key the webhook signs verdicts for signet-node with.
var verdictKeyFlag = &cli.StringFlag{Name: "verdict-key",
	Usage:   "ed25519 PEM private key (a path, or the PEM itself, e.g. from a Secret through the environment) to sign a verdict onto each admitted pod for signet-node (signet-node keygen); empty: no verdicts",
	EnvVars: []string{"SIGNET_VERDICT_KEY"}}
