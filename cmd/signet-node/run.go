package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/enforce/node"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/cloudauth"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "connect to the runtime's NRI socket and decide every container creation",
		Description: `Every container the runtime creates is decided against the trust file: from the
webhook's signed verdict on the pod when one covers the exact digest, pod,
namespace and trust file (--verdict-public-key), else by verifying the digest
the runtime will run within --budget, else by the namespace's undecided policy
(--undecided, --undecided-allow). The trust file is reloaded when it changes.

Example:
   signet-node run --policy /etc/signet/trust.yaml --verdict-public-key /etc/signet-verdict/verdict.pub \
     --exempt-namespace signet-system --nri-socket /var/run/nri/nri.sock

Environment: every flag has a SIGNET_NODE_ variable (shown below).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "policy", Usage: "trust policy file", Value: "trust.yaml", EnvVars: []string{"SIGNET_NODE_POLICY"}},
			&cli.StringFlag{Name: "nri-socket", Usage: "the runtime's NRI socket", Value: "/var/run/nri/nri.sock", EnvVars: []string{"SIGNET_NODE_NRI_SOCKET"}},
			&cli.StringFlag{Name: "verdict-public-key", Usage: "PEM public key(s) of the webhook's verdicts (empty: verify every container)", EnvVars: []string{"SIGNET_NODE_VERDICT_PUBLIC_KEY"}},
			&cli.DurationFlag{Name: "verdict-max-age", Usage: "how old a verdict may be", Value: node.DefaultVerdictMaxAge, EnvVars: []string{"SIGNET_NODE_VERDICT_MAX_AGE"}},
			&cli.DurationFlag{Name: "budget", Usage: "time to verify one container, below the runtime's NRI request timeout (2s)", Value: node.DefaultBudget, EnvVars: []string{"SIGNET_NODE_BUDGET"}},
			&cli.StringSliceFlag{Name: "exempt-namespace", Usage: "namespaces never checked besides the trust file's exempt ones (signet's own)", EnvVars: []string{"SIGNET_NODE_EXEMPT_NAMESPACE"}},
			&cli.StringFlag{Name: "undecided", Usage: "what a container that could not be decided in time gets outside --undecided-allow: deny or allow", Value: "deny", EnvVars: []string{"SIGNET_NODE_UNDECIDED"}},
			&cli.StringSliceFlag{Name: "undecided-allow", Usage: "namespaces whose undecided containers start (the node's own system pods)", Value: cli.NewStringSlice(node.DefaultUndecidedAllow...), EnvVars: []string{"SIGNET_NODE_UNDECIDED_ALLOW"}},
			&cli.StringFlag{Name: "ops-listen", Usage: "health and metrics address (plain HTTP)", Value: ":9091", EnvVars: []string{"SIGNET_NODE_OPS_LISTEN"}},
			&cli.DurationFlag{Name: "reload-interval", Usage: "how often the trust file is checked for changes", Value: enforce.DefaultReloadInterval, EnvVars: []string{"SIGNET_NODE_RELOAD_INTERVAL"}},
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of TUF", EnvVars: []string{"SIGNET_NODE_OFFLINE"}},
		}, cloudauth.Flags("SIGNET_NODE_")...),
		Action: run,
	}
}

// run is the Config the flags say, run until SIGTERM.
func run(c *cli.Context) error {
	undecided, err := node.ParseUndecided(c.String("undecided"), c.StringSlice("undecided-allow"))
	if err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	clouds, err := cloudauth.FromFlags(c)
	if err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	s, err := node.New(node.Config{PolicyPath: c.String("policy"), ReloadInterval: c.Duration("reload-interval"),
		Socket: c.String("nri-socket"), OpsListen: c.String("ops-listen"), VerdictPublicKey: c.String("verdict-public-key"),
		VerdictMaxAge: c.Duration("verdict-max-age"), Budget: c.Duration("budget"), Exempt: c.StringSlice("exempt-namespace"),
		Undecided: undecided, Keychain: cloudauth.Keychain(clouds), Offline: c.Bool("offline")})
	if err != nil {
		return cliapp.Usagef("signet-node", "%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		return cliapp.Exit(cliapp.ExitFailure, "signet-node: "+err.Error())
	}
	return nil
}
