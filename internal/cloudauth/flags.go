package cloudauth

import (
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"
)

// Flags are the per-provider host lists every command that verifies with
// the process's own cloud identity takes (enforce serve, signet-node run):
// one spelling, so the chart passes the same values to both. envPrefix is
// the command's environment prefix ("SIGNET_", "SIGNET_NODE_").
func Flags(envPrefix string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "google-registries", Usage: "comma-separated registry hosts (host[:port] or *.domain) that get the Google workload identity's token, e.g. us-docker.pkg.dev; none by default", EnvVars: []string{envPrefix + "GOOGLE_REGISTRIES"}},
		&cli.StringFlag{Name: "ecr-registries", Usage: "comma-separated registry hosts that get AWS ECR credentials of the pod's AWS identity, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com; none by default", EnvVars: []string{envPrefix + "ECR_REGISTRIES"}},
		&cli.StringFlag{Name: "acr-registries", Usage: "comma-separated registry hosts that get an Azure ACR token of the pod's Azure identity, e.g. acme.azurecr.io; none by default", EnvVars: []string{envPrefix + "ACR_REGISTRIES"}},
	}
}

// FromFlags is the keychain (Keychain) of the host lists Flags defines.
func FromFlags(c *cli.Context) (authn.Keychain, error) {
	r, err := ParseRegistries(c.String("google-registries"), c.String("ecr-registries"), c.String("acr-registries"))
	if err != nil {
		return nil, err
	}
	return Keychain(r), nil
}
