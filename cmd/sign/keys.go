package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

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
			pass, err := newKeyPassword(os.Stdin, c.App.ErrWriter)
			if err != nil {
				return err
			}
			keyPath, pubPath, err := sign.WriteKeyPair(c.String("output-key-prefix"), pass, c.Bool("force"))
			if exists := (*sign.ExistsError)(nil); errors.As(err, &exists) {
				return usageError("generate-key-pair: %v", err)
			}
			if err != nil {
				return cliapp.Failure("sign", err)
			}
			fmt.Fprintf(c.App.Writer, "Private key written to %s\nPublic key written to %s\n", keyPath, pubPath)
			return nil
		},
	}
}

// newKeyPassword is COSIGN_PASSWORD when set (even empty, as cosign), else
// asked for twice on the terminal, without echo. Without either it is a
// usage error: the key is always encrypted, and a CI job must never hang on
// a prompt.
func newKeyPassword(stdin *os.File, prompt io.Writer) ([]byte, error) {
	if pass, ok := os.LookupEnv("COSIGN_PASSWORD"); ok {
		return []byte(pass), nil
	}
	fd := int(stdin.Fd())
	if !term.IsTerminal(fd) {
		return nil, usageError("generate-key-pair: set COSIGN_PASSWORD or run on a terminal (the key is always encrypted)")
	}
	read := func(msg string) ([]byte, error) {
		fmt.Fprint(prompt, msg)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		return b, err
	}
	first, err := read("Enter password for private key: ")
	if err != nil {
		return nil, cliapp.Failure("sign", fmt.Errorf("reading the password: %w", err))
	}
	again, err := read("Enter password for private key again: ")
	if err != nil {
		return nil, cliapp.Failure("sign", fmt.Errorf("reading the password: %w", err))
	}
	if !bytes.Equal(first, again) {
		return nil, usageError("generate-key-pair: the passwords do not match")
	}
	return first, nil
}
