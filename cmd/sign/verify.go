package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verify"
)

var policyFlag = &cli.StringFlag{
	Name:    "policy",
	Aliases: []string{"p"},
	Usage:   "trust policy file (trust.yaml)",
	EnvVars: []string{"SIGNET_POLICY"},
	Value:   "trust.yaml",
}

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "decide images exactly as the enforce webhook would",
		ArgsUsage: "IMAGE...",
		Description: `Resolves each image to its digest, finds its signatures and attestations
(cosign .sig/.att tags and Sigstore bundle referrers), verifies them against
the trust policy and prints the decision with its reasons.

Exit status: 0 every image is allowed, 1 at least one is denied,
2 usage or configuration error (unreadable or invalid trust policy),
3 no image is denied outright but at least one could not be checked
(registry or trust root unreachable: retrying may help).

Example:
   sign verify --policy trust.yaml ghcr.io/acme/app:1.4.2
   sign verify -p trust.yaml -o json ghcr.io/acme/app@sha256:... > decision.json

--timeout bounds the whole run (every image); each registry request is also
bounded on its own, so a registry that hangs, drips or loops redirects ends
in a denial that names what it did, never in a hung CI job.

Environment: SIGNET_POLICY, SIGNET_OUTPUT, SIGNET_OFFLINE, SIGNET_TIMEOUT, and
the Docker config ($DOCKER_CONFIG/config.json) for registry credentials.`,
		Flags: []cli.Flag{
			policyFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "text or json", Value: "text", EnvVars: []string{"SIGNET_OUTPUT"}},
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of refreshing it over TUF", EnvVars: []string{"SIGNET_OFFLINE"}},
			&cli.DurationFlag{Name: "timeout", Usage: "give up (deny) after this long for the whole run", Value: 2 * time.Minute, EnvVars: []string{"SIGNET_TIMEOUT"}},
		},
		Action: func(c *cli.Context) error {
			images := c.Args().Slice()
			if len(images) == 0 {
				return usageError("verify needs at least one IMAGE")
			}
			output := c.String("output")
			if output != "text" && output != "json" {
				return usageError("--output must be text or json, got %q", output)
			}
			p, err := policy.LoadFile(c.String("policy"))
			if err != nil {
				return usageError("%v", err)
			}
			timeout := c.Duration("timeout")
			if timeout <= 0 {
				return usageError("--timeout must be positive, got %s", timeout)
			}
			ctx, cancel := context.WithTimeout(c.Context, timeout)
			defer cancel()
			roots := trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: c.Bool("offline")}))
			v := verify.New(verify.WithKeychain(registryKeychain), verify.WithTrustedRoots(roots))
			var decisions []*verify.Decision
			for _, img := range images {
				d := v.Verify(ctx, img, p)
				if !d.Allowed && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					d.Reasons = append(d.Reasons, verify.NewReason(verify.CodeDeadlineExceeded, "sign verify stopped at its --timeout of %s", timeout))
				}
				decisions = append(decisions, d)
			}
			if r := roots.PublicGood().Current(); r != nil && r.Fallback != "" {
				fmt.Fprintf(c.App.ErrWriter, "sign: warning: verified against the embedded public-good trusted root, which may predate Sigstore's current keys: %s\n", r.Fallback)
			}
			r := verify.NewReport(p, decisions)
			if err := write(c, r, r.WriteText); err != nil {
				return err
			}
			return cli.Exit("", verifyExitCode(decisions))
		},
	}
}

// verifyExitCode: 1 when any image is denied on its merits (retrying will
// not help), else 3 when a denial came from infrastructure (Transient), else 0.
func verifyExitCode(ds []*verify.Decision) int {
	code := 0
	for _, d := range ds {
		switch {
		case d.Allowed:
		case !d.Transient:
			return exitDenied
		default:
			code = exitNetwork
		}
	}
	return code
}
