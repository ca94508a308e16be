package main

import (
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// adHocFlags are cosign verify's flags, with cosign's names: --key, and
// the others policy.AdHoc declares: one identity for every image instead
// of a trust file.
func adHocFlags(key *string, a *policy.AdHoc) []cli.Flag {
	return append([]cli.Flag{&cli.StringFlag{Name: "key", Destination: key,
		Usage: "instead of a trust file: the public key every image must be signed with (a file, env://VAR or a KMS URI)"}}, cliapp.Flags(a)...)
}

// verifyPolicy is the trust file, or the policy cosign's flags describe.
func verifyPolicy(c *cli.Context, key string, a policy.AdHoc) (*policy.Policy, error) {
	if key != "" {
		k, err := sign.PublicKeySpec(key)
		if err != nil {
			return nil, usageError("--key: %v", err)
		}
		a.Key = k
	}
	p, err := a.Load(c.String("policy"), c.IsSet("policy"))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return p, nil
}
