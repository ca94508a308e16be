package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
)

func blobCommand() *cli.Command {
	return &cli.Command{
		Name:      "blob",
		Usage:     "sign a file (e.g. a release's SHA256SUMS) into a Sigstore bundle",
		ArgsUsage: "FILE",
		Flags: append(serviceFlags(),
			&cli.StringFlag{Name: "bundle", Usage: "where to write the bundle (default FILE.sigstore.json)", EnvVars: []string{"SIGNET_BUNDLE"}},
		),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageError("blob needs exactly one FILE")
			}
			file := c.Args().First()
			data, err := os.ReadFile(file)
			if err != nil {
				return usageError("%v", err)
			}
			out := c.String("bundle")
			if out == "" {
				out = file + ".sigstore.json"
			}
			id, err := resolveIdentity(c)
			if err != nil {
				return usageError("%v", err)
			}
			s, err := session(c, id)
			if err != nil {
				return err
			}
			b, err := s.SignBlob(c.Context, data)
			if err != nil {
				return cliapp.Failure("sign", err)
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return cliapp.Failure("sign", err)
			}
			fmt.Fprintf(c.App.Writer, "signed %s (%s) into %s\n", file, id.Signer, out)
			return nil
		},
	}
}

// serviceFlags are the signing flags that choose the identity and the
// Sigstore services (no policy, layout or CI output: a blob has none).
func serviceFlags() []cli.Flag {
	keep := map[string]bool{"key": true, "identity-token": true, "identity-token-file": true, "fulcio-url": true,
		"rekor-url": true, "tlog-upload": true, "timestamp-url": true, "signing-config": true, "retries": true}
	var out []cli.Flag
	for _, f := range signingFlags() {
		if keep[f.Names()[0]] {
			out = append(out, f)
		}
	}
	return out
}
