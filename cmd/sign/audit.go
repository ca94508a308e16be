package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/kubecore"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/scan"
	"github.com/signet-dev/signet/verify"
)

func auditCommand() *cli.Command {
	return &cli.Command{
		Name:  "audit",
		Usage: "decide everything that runs in a cluster or namespace, as the webhook would",
		Flags: []cli.Flag{
			policyFlag,
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Usage: "audit one namespace (default: all)"},
			&cli.StringFlag{Name: "kubeconfig", Usage: "kubeconfig file (default: $KUBECONFIG or ~/.kube/config)"},
			&cli.StringFlag{Name: "context", Usage: "kubeconfig context (default: the current one)"},
			cliapp.OutputFlag("table"),
			&cli.IntFlag{Name: "concurrency", Usage: "verifications at once", Value: 8, EnvVars: []string{"SIGNET_CONCURRENCY"}},
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of refreshing it over TUF", EnvVars: []string{"SIGNET_OFFLINE"}},
		},
		Action: func(c *cli.Context) error {
			p, err := policy.LoadFile(c.String("policy"))
			if err != nil {
				return usageError("%v", err)
			}
			kc, err := kubecore.Load(c.String("kubeconfig"), c.String("context"))
			if err != nil {
				return usageError("%v", err)
			}
			e := &scan.Engine{Decider: verify.New(verifyOptions(c)...).Flow(), Concurrency: c.Int("concurrency"), Progress: scan.TerminalProgress(c.App.ErrWriter)}
			r, err := scan.Cluster(c.Context, kc, e, p, c.String("namespace"))
			if err != nil {
				return cliapp.Failure("sign", fmt.Errorf("reading the cluster: %w", err))
			}
			if err := cliapp.Write(c, c.App.Writer, r, r.WriteTable); err != nil {
				return err
			}
			return cliapp.Verdict(r.Summary.Fail+r.Summary.Error == 0, r.Summary.Fail == 0)
		},
	}
}
