// Command sign is signet's CI-side tool: it verifies images with exactly the
// engine the cluster uses and lints and explains trust policies. (Signing
// and attesting arrive with issue 4.)
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// Exit codes, documented in the README and stable.
const (
	exitOK     = 0
	exitDenied = 1
	exitUsage  = 2
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the app and maps errors to exit codes: a cli.ExitCoder keeps
// its code, anything else (bad flags, unreadable policy) is a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintln(stderr, msg)
		}
		return ec.ExitCode()
	}
	fmt.Fprintf(stderr, "sign: %v\n", err)
	return exitUsage
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "sign",
		Usage: "sign, attest and verify container images against a signet trust policy",
		Description: `One trust file (trust.yaml) says which workflow identities may ship which
images; sign uses it in CI (preflight, post-check) and the enforce webhook uses it
in the cluster, through the same verification engine.

Examples:
   sign verify --policy trust.yaml ghcr.io/acme/app:1.4.2
   sign image --attest ghcr.io/acme/app:1.4.2          # keyless, in GitHub Actions or GitLab CI
   sign policy explain trust.yaml ghcr.io/acme/app

Environment: every flag has a SIGNET_ variable (see each command's help);
COSIGN_PASSWORD for encrypted keys; the Docker config for registry credentials.`,
		Version:         version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
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
		},
	}
}

// usageError marks a configuration or usage problem (exit 2).
func usageError(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf("sign: "+format, args...), exitUsage)
}
