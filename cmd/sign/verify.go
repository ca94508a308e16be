package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/manifest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
	"github.com/signet-dev/signet/verify"
)

// policyFlag is the trust file verify and audit decide with.
var policyFlag = &cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy file (trust.yaml)", EnvVars: []string{"SIGNET_POLICY"}, Value: policy.DefaultFile}

func verifyCommand() *cli.Command {
	var key string
	var adHoc policy.AdHoc
	return &cli.Command{
		Name:      "verify",
		Usage:     "decide images exactly as the enforce webhook would",
		ArgsUsage: "IMAGE... | -f MANIFEST...",
		Flags: append([]cli.Flag{
			policyFlag,
			cliapp.OutputFlag("text"),
			&cli.BoolFlag{Name: "offline", Usage: "use the embedded public-good trusted root instead of refreshing it over TUF", EnvVars: []string{"SIGNET_OFFLINE"}},
			&cli.DurationFlag{Name: "timeout", Usage: "give up (deny) after this long for the whole run", Value: 2 * time.Minute, EnvVars: []string{"SIGNET_TIMEOUT"}},
			&cli.StringSliceFlag{Name: "filename", Aliases: []string{"f"}, Usage: "Kubernetes manifests to check: a file, a directory or - (repeatable)"},
			&cli.StringFlag{Name: "namespace", Aliases: []string{"n"}, Value: "default", Usage: "with -f: the namespace of objects that name none"},
		}, adHocFlags(&key, &adHoc)...),
		Action: func(c *cli.Context) error {
			files, images := c.StringSlice("filename"), c.Args().Slice()
			switch {
			case len(files) > 0 && len(images) > 0:
				return usageError("verify takes IMAGEs or -f MANIFESTs, not both")
			case len(files) == 0 && len(images) == 0:
				return usageError("verify needs at least one IMAGE (or -f MANIFEST)")
			}
			p, err := verifyPolicy(c, key, adHoc)
			if err != nil {
				return err
			}
			timeout := c.Duration("timeout")
			if timeout <= 0 {
				return usageError("--timeout must be positive, got %s", timeout)
			}
			ctx, cancel := context.WithTimeout(c.Context, timeout)
			defer cancel()
			roots := trustroot.NewStore(trustroot.NewRefresher(trustroot.Options{Offline: c.Bool("offline")}))
			v := verify.New(verify.WithKeychain(registryKeychain), verify.WithTrustedRoots(roots))
			decide := func(ctx context.Context, img string) *verify.Decision {
				d := v.Verify(ctx, img, p)
				if !d.Allowed && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					d.Reasons = append(d.Reasons, verify.NewReason(verify.CodeDeadlineExceeded, "sign verify stopped at its --timeout of %s", timeout))
				}
				return d
			}
			defer warnFallback(c, roots)
			if len(files) > 0 {
				return verifyManifests(c, ctx, p, files, decide)
			}
			var decisions []*verify.Decision
			for _, img := range images {
				decisions = append(decisions, decide(ctx, img))
			}
			r := verify.NewReport(p, decisions)
			if err := cliapp.Write(c, c.App.Writer, r, r.WriteText); err != nil {
				return err
			}
			return cliapp.Verdict(r.Allowed, r.Transient())
		},
	}
}

// warnFallback says when decisions were made with the embedded root.
func warnFallback(c *cli.Context, roots *trustroot.Store) {
	if r := roots.PublicGood().Current(); r != nil && r.Fallback != "" {
		fmt.Fprintf(c.App.ErrWriter, "sign: warning: verified against the embedded public-good trusted root, which may predate Sigstore's current keys: %s\n", r.Fallback)
	}
}

// verifyManifests is `sign verify -f`: every image of every workload.
func verifyManifests(c *cli.Context, ctx context.Context, p *policy.Policy, files []string, decide manifest.Decide) error {
	objs, notes, err := manifest.ReadPaths(files, os.Stdin)
	if err != nil {
		return usageError("%v", err)
	}
	r := manifest.Check(ctx, p, objs, notes, decide, manifest.Options{Namespace: c.String("namespace")})
	if err := cliapp.Write(c, c.App.Writer, r, r.WriteText); err != nil {
		return err
	}
	return cliapp.Verdict(r.Allowed, r.Transient())
}
