package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/sign"
)

func generateKeyPairCommand() *cli.Command {
	return &cli.Command{
		Name:  "generate-key-pair",
		Usage: "create an encrypted signing key pair in cosign's format",
		Description: `Writes PREFIX.key (ECDSA P-256, encrypted with the password in
COSIGN_PASSWORD) and PREFIX.pub. cosign reads both; put the public key in
trust.yaml as a key identity and keep the private key in a CI secret.

Example:
   COSIGN_PASSWORD=... sign generate-key-pair --output-key-prefix release

Environment: COSIGN_PASSWORD (required, may be empty only if set),
SIGNET_OUTPUT_KEY_PREFIX.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output-key-prefix", Value: "cosign", Usage: "write PREFIX.key and PREFIX.pub", EnvVars: []string{"SIGNET_OUTPUT_KEY_PREFIX"}},
			&cli.BoolFlag{Name: "force", Usage: "overwrite existing files", EnvVars: []string{"SIGNET_FORCE"}},
		},
		Action: func(c *cli.Context) error {
			pass, ok := os.LookupEnv("COSIGN_PASSWORD")
			if !ok {
				return usageError("generate-key-pair: set COSIGN_PASSWORD (the key is always encrypted)")
			}
			prefix := c.String("output-key-prefix")
			keyPath, pubPath := prefix+".key", prefix+".pub"
			if !c.Bool("force") {
				for _, p := range []string{keyPath, pubPath} {
					if _, err := os.Stat(p); err == nil {
						return usageError("generate-key-pair: %s exists (use --force to overwrite)", p)
					}
				}
			}
			priv, pub, err := sign.GenerateKeyPair([]byte(pass))
			if err != nil {
				return err
			}
			if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
				return fmt.Errorf("writing %s: %w", keyPath, err)
			}
			if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", pubPath, err)
			}
			fmt.Fprintf(c.App.Writer, "Private key written to %s\nPublic key written to %s\n", keyPath, pubPath)
			return nil
		},
	}
}
