package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
)

func blobCommand() *cli.Command {
	s := newSigning()
	return &cli.Command{
		Name:      "blob",
		Usage:     "sign a file (e.g. a release's SHA256SUMS) into a Sigstore bundle",
		ArgsUsage: "FILE",
		// The flags that choose the identity and the Sigstore services (no
		// policy, layout or CI output: a blob has none).
		Flags: s.flags([]string{"key", "identity-token", "identity-token-file", "fulcio-url", "rekor-url", "tlog-upload", "timestamp-url",
			"signing-config", "retries", "bundle"}),
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
			id, err := resolveIdentity(c, s)
			if err != nil {
				return usageError("%v", err)
			}
			sess, err := session(c, s, id)
			if err != nil {
				return err
			}
			b, err := sess.SignBlob(c.Context, data)
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
