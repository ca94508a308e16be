package main

import (
	"errors"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:      "image",
		Usage:     "sign an image by digest (and attest its provenance with --attest)",
		ArgsUsage: "REF",
		Flags: append(append(signingFlags(),
			&cli.BoolFlag{Name: "attest", Usage: "also attach SLSA v1 provenance built from the CI environment", EnvVars: []string{"SIGNET_ATTEST"}},
		), slices.Concat(notationFlags(), attestationFlags())...),
		Action: func(c *cli.Context) error {
			return signRun(c, true, c.Bool("attest"))
		},
	}
}

// signRun is the shared body of `sign image` and `sign attest`: sign
// (doSign) and attach provenance (withProvenance) and the predicates the
// attestation flags name.
func signRun(c *cli.Context, doSign, withProvenance bool) error {
	if c.NArg() != 1 {
		return usageError("%s needs exactly one REF", c.Command.Name)
	}
	image := c.Args().First()
	format, err := sign.ParseFormat(c.String("format"))
	if err != nil {
		return usageError("%v", err)
	}
	p, err := loadSignPolicy(c)
	if err != nil {
		return err
	}
	id, err := resolveIdentity(c)
	if err != nil {
		return usageError("%v", err)
	}
	req := sign.Request{Image: image, Format: format, Sign: doSign, Policy: p, Signer: id.Signer,
		SkipChildren: c.Bool("index-only"), Log: stderrLog(c), Keychain: registryKeychain, PublishFailing: c.Bool("publish-failing")}
	if req.Attest, err = predicates(c, id.Claims, withProvenance); err != nil {
		return usageError("%v", err)
	}
	switch {
	case p == nil:
		req.Log("warning: no trust policy (--policy or ./trust.yaml): preflight and post-check are SKIPPED")
	case c.Bool("no-post-check"):
		req.Log("warning: --no-post-check: the pushed signatures are NOT verified against %s", p.Source)
	default:
		// The post-check reads with the same credentials the run writes with.
		req.PostCheck = sign.NewPostCheck(verifyOptions(c)...)
	}
	s, err := session(c, id)
	if err != nil {
		return err
	}
	res, runErr := sign.Run(c.Context, s, req)
	if err := report(c, res, runErr); err != nil {
		return err
	}
	if runErr != nil {
		if errors.Is(runErr, sign.ErrPreflight) || errors.Is(runErr, sign.ErrPostCheck) {
			return cli.Exit("sign: "+runErr.Error(), cliapp.ExitDenied)
		}
		return cliapp.Failure("sign", runErr)
	}
	return nil
}
