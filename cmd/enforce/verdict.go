package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/verdict"
)

// verdictKeyFlag is the key the webhook signs verdicts for signet-node with.
var verdictKeyFlag = &cli.StringFlag{Name: "verdict-key",
	Usage:   "ed25519 PEM private key (a path, or the PEM itself, e.g. from a Secret through the environment) to sign a verdict onto each admitted pod for signet-node (signet-node keygen); empty: no verdicts",
	EnvVars: []string{"SIGNET_VERDICT_KEY"}}

// verdictSigner reads --verdict-key; nil when unset.
func verdictSigner(c *cli.Context) (*verdict.Signer, error) {
	v := c.String(verdictKeyFlag.Name)
	if v == "" {
		return nil, nil
	}
	pem := []byte(v)
	if !strings.HasPrefix(strings.TrimSpace(v), "-----BEGIN") {
		var err error
		if pem, err = os.ReadFile(v); err != nil {
			return nil, err
		}
	}
	return verdict.NewSigner(pem)
}
