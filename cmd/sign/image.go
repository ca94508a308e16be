package main

import (
	"errors"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/sign"
	"github.com/signet-dev/signet/verify"
)

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:      "image",
		Usage:     "sign an image by digest (and attest its provenance with --attest)",
		ArgsUsage: "REF",
		Description: `Checks the trust policy first (preflight: fails before touching the
registry if the cluster would refuse this signer), resolves REF to its
digest, signs the digest (an index and every child manifest), writes the
Sigstore bundle referrer and the cosign .sig tag, then verifies the result
with the same engine the cluster uses (post-check).

With --notation-key and --notation-cert it also signs with the Notary
Project (a Notation JWS or COSE envelope as an OCI referrer, optionally
timestamped by an RFC 3161 TSA), or with --sigstore=false only with it.

Examples:
   sign image --policy trust.yaml --attest ghcr.io/acme/app:1.4.2
   COSIGN_PASSWORD=... sign image --key cosign.key registry.example/app@sha256:...
   sign image --sigstore=false --notation-key notation.key --notation-cert notation.crt registry.example/app:1.0

Re-running it for a digest this signer already signed replaces the
signer's own earlier signature (and attestation of the same type) in each
layout instead of adding one; other signers' entries are never touched.
The output says per layout whether it added, replaced or left unchanged.

Environment: SIGNET_POLICY, SIGNET_KEY, COSIGN_PASSWORD, SIGNET_IDENTITY_TOKEN,
SIGNET_IDENTITY_TOKEN_FILE, SIGNET_FULCIO_URL, SIGNET_REKOR_URL,
SIGNET_TLOG_UPLOAD, SIGNET_TIMESTAMP_URL, SIGNET_SIGNING_CONFIG, SIGNET_FORMAT,
SIGNET_NO_POST_CHECK, SIGNET_INDEX_ONLY, SIGNET_OFFLINE, SIGNET_RETRIES,
SIGNET_REQUEST_TIMEOUT, SIGNET_OUTPUT, SIGNET_DOTENV, SIGNET_ATTEST,
SIGNET_NOTATION_KEY, SIGNET_NOTATION_CERT, SIGNET_NOTATION_ENVELOPE,
SIGNET_NOTATION_TIMESTAMP_URL, SIGNET_NOTATION_TIMESTAMP_ROOT, SIGNET_SIGSTORE;
ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN (GitHub), SIGSTORE_ID_TOKEN (GitLab);
$DOCKER_CONFIG for registry credentials.`,
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
		opts := []verify.Option{verify.WithKeychain(registryKeychain)}
		if c.Bool("offline") {
			opts = append(opts, verify.WithOffline())
		}
		req.PostCheck = sign.NewPostCheck(opts...)
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
			return cli.Exit("sign: "+runErr.Error(), exitDenied)
		}
		return cliapp.Failure("sign", runErr)
	}
	return nil
}
