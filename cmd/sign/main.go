// Command sign is signet's CI-side tool: it signs and attests image digests,
// verifies images with exactly the engine the cluster uses, and lints and
// explains trust policies.
package main

import (
	"embed"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/internal/kmsplugin"
	"github.com/signet-dev/signet/verify"
)

// exitUsage is a usage or configuration error's exit (internal/cliapp).
const exitUsage = cliapp.ExitUsage

// help is the prose of every command's --help (cliapp.Setup).
//
//go:embed help
var help embed.FS

func main() {
	// KMS keys (--key awskms://…, a trust file's kms:) are served by the
	// signet-kms plugin, found on PATH or beside sign; sign links no KMS SDK.
	kmsplugin.FindBesideExecutable()
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the app and maps errors to exit codes (cliapp.Run): a
// cli.ExitCoder keeps its code, runtime failures were classified where they
// happened, anything else (bad flags) is a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	return cliapp.Run(newApp(stdout, stderr), args, stderr)
}

func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "sign",
		Usage:     "sign, attest and verify container images against a signet trust policy",
		Writer:    stdout,
		ErrWriter: stderr,
		// Errors are printed once, by run, with the right exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return cli.Exit("sign: "+err.Error(), exitUsage)
		},
		Commands: []*cli.Command{
			verifyCommand(),
			auditCommand(),
			policyCommand(),
			imageCommand(),
			attestCommand(),
			preflightCommand(),
			generateKeyPairCommand(),
			blobCommand(),
		},
	}
	cliapp.Setup(app, help)
	app.Description += "\n\n" + cliapp.ExitCodes
	return app
}

// usageError marks a configuration or usage problem (exit 2).
func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf("sign: "+format, args...), exitUsage)
}

// registryKeychain is sign's registry identity: the Docker config
// ($DOCKER_CONFIG/config.json: auths, credHelpers, credsStore), as cosign's
// CLI uses by default. Cloud registries are reached through their Docker
// credential helpers (docker-credential-ecr-login, gcloud's, acr-env) or a
// `docker login`, which is what CI jobs do; sign does not link the AWS, Azure
// and Google SDKs that enforce uses for node identity (internal/cloudauth),
// because every linked package's init runs on every command.
var registryKeychain = authn.DefaultKeychain

// verifyOptions are how sign verifies for a command with --offline:
// with registryKeychain, the credentials a run writes with, and the
// embedded public-good root when offline.
func verifyOptions(c *cli.Context) []verify.Option {
	opts := []verify.Option{verify.WithKeychain(registryKeychain)}
	if c.Bool("offline") {
		opts = append(opts, verify.WithOffline())
	}
	return opts
}
