package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/policy"
)

func policyCommand() *cli.Command {
	return &cli.Command{
		Name:  "policy",
		Usage: "check and explain trust policies",
		Description: `Pure: these commands read only the trust file (and the key or trusted-root
files it names), never a registry.

Examples:
   sign policy lint trust.yaml
   sign policy explain trust.yaml ghcr.io/acme/app:1.4.2

Environment: none; FILE is an argument.`,
		Subcommands: []*cli.Command{
			{
				Name:      "lint",
				Usage:     "validate a trust policy; print every problem as FILE:LINE:COLUMN",
				ArgsUsage: "FILE",
				Description: `Exit status 0 when the file is valid (its content hash is printed), 2 otherwise.

Example:
   sign policy lint trust.yaml

Environment: none; FILE is an argument.`,
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageError("policy lint needs exactly one FILE")
					}
					p, err := policy.LoadFile(c.Args().First())
					if err != nil {
						return cli.Exit(err.Error(), exitUsage)
					}
					fmt.Fprintf(c.App.Writer, "%s: ok (%d identities, %d rules, hash %s)\n", p.Source, len(p.Identities), len(p.Rules), p.Hash)
					return nil
				},
			},
			{
				Name:      "explain",
				Usage:     "show which rule applies to an image and what it requires",
				ArgsUsage: "FILE IMAGE",
				Description: `Pure: reads no registry. Shows the rule that matches IMAGE (first match
wins), the identities it accepts with the certificate fields each pins,
and the provenance it requires.

Example:
   sign policy explain trust.yaml ghcr.io/acme/app:1.4.2

Environment: none; FILE and IMAGE are arguments.`,
				Action: func(c *cli.Context) error {
					if c.NArg() != 2 {
						return usageError("policy explain needs FILE and IMAGE")
					}
					p, err := policy.LoadFile(c.Args().Get(0))
					if err != nil {
						return cli.Exit(err.Error(), exitUsage)
					}
					m, err := p.Match(c.Args().Get(1))
					if err != nil {
						return usageError("%v", err)
					}
					return explain(c.App.Writer, p, m)
				},
			},
		},
	}
}

func explain(w io.Writer, p *policy.Policy, m policy.Match) error {
	var b strings.Builder
	r := m.Rule
	fmt.Fprintf(&b, "image       %s\n", m.Repository)
	fmt.Fprintf(&b, "rule        %s (images[%d], matched %q, %s rule)\n", r.Name, r.Index, m.Pattern, r.Kind())
	mode := p.Enforcement.Mode
	if r.Mode != "" {
		mode = r.Mode
	}
	switch r.Kind() {
	case "deny":
		fmt.Fprintf(&b, "decision    always denied: %s\n", r.Deny)
	case "pin-only":
		fmt.Fprintf(&b, "decision    allowed without a signature; the digest is pinned\n")
	default:
		fmt.Fprintf(&b, "requires    %d of %d identities to sign the digest\n", r.Threshold, len(r.SignedBy))
		for _, id := range r.SignedBy {
			describeIdentity(&b, id)
		}
		if pv := r.Provenance; pv != nil {
			req := "optional"
			if pv.Required {
				req = "required"
			}
			fmt.Fprintf(&b, "provenance  %s: %s signed by [%s]\n", req, strings.Join(pv.PredicateTypes, " or "), strings.Join(policy.IdentityNames(pv.SignedBy), ", "))
			for _, c := range provenanceConditions(pv) {
				fmt.Fprintf(&b, "            - %s\n", c)
			}
		}
		if r.Platforms == policy.PlatformsAll {
			fmt.Fprintf(&b, "platforms   every platform of a multi-arch index must be signed\n")
		}
	}
	fmt.Fprintf(&b, "mode        %s\n", mode)
	fmt.Fprintf(&b, "policy      %s\n", p.Hash)
	_, err := io.WriteString(w, b.String())
	return err
}

func describeIdentity(b *strings.Builder, id *policy.Identity) {
	if k := id.Key; k != nil {
		if k.KMS != "" {
			fmt.Fprintf(b, "  - %s: key %s\n", id.Name, k.KMS)
		} else {
			fmt.Fprintf(b, "  - %s: key sha256:%s\n", id.Name, k.KeyID)
		}
		return
	}
	k := id.Keyless
	fmt.Fprintf(b, "  - %s: keyless, issuer %s\n", id.Name, k.Issuer)
	fmt.Fprintf(b, "      subject (SAN)       %s\n", k.ExpectedSAN())
	if k.Repository != nil {
		fmt.Fprintf(b, "      source repository   %s/%s\n", k.ServerURL, k.Repository)
	}
	if len(k.Refs) > 0 {
		fmt.Fprintf(b, "      source ref          %s\n", joinGlobs(k.Refs))
	}
	if k.RunnerEnvironment != "" {
		fmt.Fprintf(b, "      runner environment  %s\n", k.RunnerEnvironment)
	}
	if len(k.Triggers) > 0 {
		fmt.Fprintf(b, "      build trigger       %s\n", strings.Join(k.Triggers, " | "))
	}
}

func provenanceConditions(pv *policy.Provenance) []string {
	var out []string
	if len(pv.BuilderIDs) > 0 {
		out = append(out, "builder id "+joinGlobs(pv.BuilderIDs))
	}
	if len(pv.BuildTypes) > 0 {
		out = append(out, "build type "+strings.Join(pv.BuildTypes, " | "))
	}
	if len(pv.SourceRepositories) > 0 {
		out = append(out, "source repository "+joinGlobs(pv.SourceRepositories))
	}
	if len(pv.SourceRefs) > 0 {
		out = append(out, "source ref "+joinGlobs(pv.SourceRefs))
	}
	if pv.SourceMatchesSigner {
		out = append(out, "source repository equals the signing certificate's Source Repository URI")
	}
	return out
}

func joinGlobs(gs []policy.Glob) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, " | ")
}
