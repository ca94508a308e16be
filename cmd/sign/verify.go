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

var policyFlag = &cli.StringFlag{
	Name:    "policy",
	Aliases: []string{"p"},
	Usage:   "trust policy file (trust.yaml)",
	EnvVars: []string{"SIGNET_POLICY"},
	Value:   "trust.yaml",
}

func verifyCommand() *cli.Command {
	var key string
	var adHoc policy.AdHoc
	return &cli.Command{
		Name:      "verify",
		Usage:     "decide images exactly as the enforce webhook would",
		ArgsUsage: "IMAGE... | -f MANIFEST...",
		Description: `Resolves each image to its digest, finds its signatures and attestations
(cosign .sig/.att tags and Sigstore bundle referrers), verifies them against
the trust policy and prints the decision with its reasons.

With -f, reads Kubernetes manifests (files, directories, or - for stdin:
multi-document YAML or JSON, kind: List, helm template or kustomize build
output) and decides every image of every workload the webhook checks
(Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
ReplicationController: containers, init and ephemeral containers, image
volumes) in its namespace's mode, one line per object and image. Other
kinds are listed as not checked. A pre-merge gate for GitOps repositories.

Without a trust file, cosign's flags say whom to trust for every image:
--key (a file, env://VAR or a KMS URI), or --certificate-identity (or
--certificate-identity-regexp, anchored) with --certificate-oidc-issuer;
a log entry and an SCT are required unless --insecure-ignore-tlog or
--insecure-ignore-sct; --trusted-root for a private Sigstore. An identity
that admits every repository of its issuer is refused, as in a trust file.

Exit status: 0 every image is allowed, 1 at least one is denied,
2 usage or configuration error (unreadable or invalid trust policy or
manifest), 3 no image is denied outright but at least one could not be
checked (registry or trust root unreachable: retrying may help).

Example:
   sign verify --policy trust.yaml ghcr.io/acme/app:1.4.2
   sign verify -p trust.yaml -o json ghcr.io/acme/app@sha256:... > decision.json
   helm template ./chart | sign verify -p trust.yaml -f -
   sign verify --key cosign.pub ghcr.io/acme/app:1.4.2
   sign verify ghcr.io/acme/app:1.4.2 \
     --certificate-identity https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main \
     --certificate-oidc-issuer https://token.actions.githubusercontent.com

--timeout bounds the whole run (every image); each registry request is also
bounded on its own, so a registry that hangs, drips or loops redirects ends
in a denial that names what it did, never in a hung CI job.

Environment: SIGNET_POLICY, SIGNET_OUTPUT, SIGNET_OFFLINE, SIGNET_TIMEOUT, and
the Docker config ($DOCKER_CONFIG/config.json) for registry credentials.
cosign's flags have no SIGNET_ variable: a CI job's SIGNET_KEY is a
signing key, never a key to verify with.`,
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
