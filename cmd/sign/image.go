package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
)

func imageCommand() *cli.Command {
	s := newSigning()
	return &cli.Command{
		Name:      "image",
		Usage:     "sign an image by digest (and attest its provenance with --attest)",
		ArgsUsage: "REF",
		Flags:     s.flags(signingNames, []string{"attest"}, notationNames, attestationNames),
		Action: func(c *cli.Context) error {
			return signRun(c, s, true, c.Bool("attest"))
		},
	}
}

// signRun is the shared body of `sign image` and `sign attest`: sign
// (doSign) and attach provenance (withProvenance) and the predicates the
// attestation flags name.
func signRun(c *cli.Context, s *signing, doSign, withProvenance bool) error {
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
	id, err := resolveIdentity(c, s)
	if err != nil {
		return usageError("%v", err)
	}
	req := sign.Request{Image: image, Format: format, Sign: doSign, Policy: p, Signer: id.Signer,
		SkipChildren: c.Bool("index-only"), Log: stderrLog(c), Keychain: registryKeychain, PublishFailing: c.Bool("publish-failing")}
	if req.Attest, err = predicates(c, s, id.Claims, withProvenance); err != nil {
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
	sess, err := session(c, s, id)
	if err != nil {
		return err
	}
	res, runErr := sign.Run(c.Context, sess, req)
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
