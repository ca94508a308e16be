package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// adHocFlags are cosign verify's flags, with cosign's names: a policy of
// one identity for every image instead of a trust file (policy.AdHoc).
func adHocFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "key", Usage: "instead of a trust file: the public key every image must be signed with (a file, env://VAR or a KMS URI)"},
		&cli.StringFlag{Name: "certificate-identity", Usage: "instead of a trust file: the exact certificate SAN every image must be signed by (with --certificate-oidc-issuer)"},
		&cli.StringFlag{Name: "certificate-identity-regexp", Usage: "like --certificate-identity, an anchored regexp (^...$) over the whole SAN"},
		&cli.StringFlag{Name: "certificate-oidc-issuer", Usage: "the OIDC issuer of --certificate-identity[-regexp]"},
		&cli.StringFlag{Name: "trusted-root", Usage: "with --key or --certificate-identity: a private Sigstore's trusted_root.json (default public-good)"},
		&cli.BoolFlag{Name: "insecure-ignore-tlog", Usage: "with --key or --certificate-identity: do not require a transparency log entry"},
		&cli.BoolFlag{Name: "insecure-ignore-sct", Usage: "with --certificate-identity: do not require the certificate's SCT"},
		&cli.BoolFlag{Name: "use-signed-timestamps", Usage: "with --key or --certificate-identity: require an RFC 3161 timestamp"},
	}
}

// verifyPolicy is the trust file, or the policy cosign's flags describe.
func verifyPolicy(c *cli.Context) (*policy.Policy, error) {
	flags := policy.AdHoc{
		CertificateIdentity: c.String("certificate-identity"), CertificateIdentityRegexp: c.String("certificate-identity-regexp"),
		CertificateOIDCIssuer: c.String("certificate-oidc-issuer"), TrustedRoot: c.String("trusted-root"),
		IgnoreTlog: c.Bool("insecure-ignore-tlog"), IgnoreSCT: c.Bool("insecure-ignore-sct"), UseSignedTimestamps: c.Bool("use-signed-timestamps"),
	}
	if ref := c.String("key"); ref != "" {
		k, err := sign.PublicKeySpec(ref)
		if err != nil {
			return nil, usageError("--key: %v", err)
		}
		flags.Key = k
	}
	if !flags.Set() {
		for _, f := range []string{"trusted-root", "insecure-ignore-tlog", "insecure-ignore-sct", "use-signed-timestamps"} {
			if c.IsSet(f) {
				return nil, usageError("--%s goes with --key or --certificate-identity; a trust file says it in its sigstore section", f)
			}
		}
		p, err := policy.LoadFile(c.String("policy"))
		if err != nil {
			return nil, usageError("%v", err)
		}
		return p, nil
	}
	if c.IsSet("policy") {
		return nil, usageError("--policy and --key/--certificate-identity exclude each other: give a trust file or cosign's flags")
	}
	p, err := flags.Policy()
	if err != nil {
		return nil, usageError("%v", err)
	}
	return p, nil
}
