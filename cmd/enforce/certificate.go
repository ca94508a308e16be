package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/internal/cliapp"
)

// certificateCommand writes the webhook's serving certificate and its CA
// once, for the chart's tls.existingSecret and tls.caBundle: the GitOps
// mode, which renders identically on every `helm template`.
func certificateCommand() *cli.Command {
	return &cli.Command{
		Name:  "certificate",
		Usage: "write a CA (ca.crt) and the webhook's serving certificate (tls.crt, tls.key) for the chart's tls.existingSecret",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "service", Usage: "the webhook Service's name (the chart's full name)", Required: true},
			&cli.StringFlag{Name: "namespace", Usage: "the release namespace", Required: true},
			&cli.DurationFlag{Name: "validity", Usage: "how long the CA and the certificate are valid", Value: 10 * 365 * 24 * time.Hour},
			&cli.StringFlag{Name: "out", Usage: "directory to write ca.crt, tls.crt and tls.key into (created if missing)", Value: "."},
		},
		Action: func(c *cli.Context) error {
			sc, err := enforce.NewServingCertificate(c.String("service"), c.String("namespace"), c.Duration("validity"), time.Now())
			if err != nil {
				return cliapp.Usagef("enforce", "%v", err)
			}
			paths, err := sc.WriteNew(c.String("out"))
			if err != nil {
				return cliapp.Exit(cliapp.ExitFailure, "enforce: "+err.Error())
			}
			fmt.Fprintf(c.App.Writer, "wrote %s, %s and %s\n", paths[0], paths[1], paths[2])
			return nil
		},
	}
}
