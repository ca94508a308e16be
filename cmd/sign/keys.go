package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

func generateKeyPairCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate-key-pair",
		Usage: "create an encrypted signing key pair in cosign's format",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output-key-prefix", Value: "cosign", Usage: "write PREFIX.key and PREFIX.pub", EnvVars: []string{"SIGNET_OUTPUT_KEY_PREFIX"}},
			&cli.BoolFlag{Name: "force", Usage: "overwrite existing files", EnvVars: []string{"SIGNET_FORCE"}},
		},
		Action: func(c *cli.Context) error {
			var keyPath, pubPath string
			pass, err := sign.NewKeyPassword(os.Stdin, c.App.ErrWriter)
			if err == nil {
				keyPath, pubPath, err = sign.WriteKeyPair(c.String("output-key-prefix"), pass, c.Bool("force"))
			}
			exists := (*sign.ExistsError)(nil)
			switch {
			case errors.Is(err, sign.ErrNoPassword) || errors.Is(err, sign.ErrPasswordMismatch) || errors.As(err, &exists):
				return usageError("generate-key-pair: %v", err)
			case err != nil:
				return cliapp.Failure("sign", err)
			}
			fmt.Fprintf(c.App.Writer, "Private key written to %s\nPublic key written to %s\n", keyPath, pubPath)
			return nil
		},
	}
}
