package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// signingFlags are shared by image, attest and preflight.
func signingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy for preflight and post-check (default ./trust.yaml when present)", EnvVars: []string{"SIGNET_POLICY"}},
		&cli.StringFlag{Name: "key", Usage: "cosign private key: a file, env://VAR (the key in an environment variable, as cosign) or a KMS URI; password in COSIGN_PASSWORD; omit for keyless", EnvVars: []string{"SIGNET_KEY"}},
		&cli.StringFlag{Name: "identity-token", Usage: "OIDC token for Fulcio (default: from GitHub Actions or GitLab's SIGSTORE_ID_TOKEN)", EnvVars: []string{"SIGNET_IDENTITY_TOKEN"}},
		&cli.StringFlag{Name: "identity-token-file", Usage: "file holding the OIDC token", EnvVars: []string{"SIGNET_IDENTITY_TOKEN_FILE"}},
		&cli.StringFlag{Name: "fulcio-url", Usage: "Fulcio URL (default public-good)", EnvVars: []string{"SIGNET_FULCIO_URL"}},
		&cli.StringFlag{Name: "rekor-url", Usage: "Rekor v1 URL (default public-good)", EnvVars: []string{"SIGNET_REKOR_URL"}},
		&cli.BoolFlag{Name: "tlog-upload", Value: true, Usage: "upload signatures to the Rekor transparency log", EnvVars: []string{"SIGNET_TLOG_UPLOAD"}},
		&cli.StringSliceFlag{Name: "timestamp-url", Usage: "RFC 3161 timestamp authority URL (repeatable)", EnvVars: []string{"SIGNET_TIMESTAMP_URL"}},
		&cli.StringFlag{Name: "signing-config", Usage: "Sigstore signing_config.json naming Fulcio, Rekor and TSA URLs (flags override it)", EnvVars: []string{"SIGNET_SIGNING_CONFIG"}},
		&cli.StringFlag{Name: "format", Value: "both", Usage: "layouts to write: both, bundle (cosign v3 referrer) or legacy (cosign v2 .sig/.att)", EnvVars: []string{"SIGNET_FORMAT"}},
		&cli.BoolFlag{Name: "no-post-check", Usage: "UNSAFE: skip verifying the pushed signatures with the trust policy", EnvVars: []string{"SIGNET_NO_POST_CHECK"}},
		&cli.BoolFlag{Name: "index-only", Usage: "sign an image index but not its child manifests", EnvVars: []string{"SIGNET_INDEX_ONLY"}},
		&cli.BoolFlag{Name: "offline", Usage: "post-check with the embedded public-good trusted root", EnvVars: []string{"SIGNET_OFFLINE"}},
		&cli.IntFlag{Name: "retries", Value: sign.DefaultRetries, Usage: "attempts per Fulcio/Rekor/TSA/registry call on 429/5xx, a reset or a timeout", EnvVars: []string{"SIGNET_RETRIES"}},
		&cli.DurationFlag{Name: "request-timeout", Value: sign.DefaultTimeout, Usage: "bound on each attempt of each Fulcio/Rekor/TSA/registry call", EnvVars: []string{"SIGNET_REQUEST_TIMEOUT"}},
		cliapp.OutputFlag("text"),
		&cli.StringFlag{Name: "dotenv", Value: "signet.env", Usage: "GitLab dotenv report to write (artifacts:reports:dotenv)", EnvVars: []string{"SIGNET_DOTENV"}},
	}
}

// loadSignPolicy is --policy, or ./trust.yaml when it exists
// (policy.LoadOptional); nil when neither.
func loadSignPolicy(c *cli.Context) (*policy.Policy, error) {
	p, err := policy.LoadOptional(c.String("policy"))
	if err != nil {
		return nil, usageError("%v", err)
	}
	return p, nil
}

// resolveIdentity is who the run signs as (sign.ResolveIdentity): the
// Sigstore flags, and the Notation ones where the command has them.
func resolveIdentity(c *cli.Context) (*sign.Identity, error) {
	return sign.ResolveIdentity(c.Context, sign.IdentityOptions{Key: c.String("key"), Token: c.String("identity-token"),
		TokenFile: c.String("identity-token-file"), NoSigstore: c.IsSet("sigstore") && !c.Bool("sigstore"), Env: osEnv,
		Notation: sign.NotationFiles{Key: c.String("notation-key"), Chain: c.String("notation-cert"), Envelope: c.String("notation-envelope"),
			TSAURL: c.String("notation-timestamp-url"), TSARoot: c.String("notation-timestamp-root")},
		Config: sign.Config{Retries: c.Int("retries"), Timeout: c.Duration("request-timeout"), Log: stderrLog(c)}})
}

// session is a signing session as id, with the services the flags, the
// signing config and the defaults choose (sign.ChooseServices).
func session(c *cli.Context, id *sign.Identity) (*sign.Session, error) {
	cfg := sign.Config{Retries: c.Int("retries"), Timeout: c.Duration("request-timeout"), Log: stderrLog(c)}
	flags := sign.Services{FulcioURL: c.String("fulcio-url"), TSAURLs: c.StringSlice("timestamp-url")}
	if u := c.String("rekor-url"); u != "" {
		flags.Rekor = []sign.Rekor{{URL: u, Version: 1}}
	}
	if err := id.Configure(&cfg, flags, c.String("signing-config"), c.Bool("tlog-upload")); err != nil {
		return nil, usageError("%v", err)
	}
	s, err := sign.NewSession(cfg)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return s, nil
}

func stderrLog(c *cli.Context) sign.Logf {
	return func(format string, args ...any) {
		fmt.Fprintf(c.App.ErrWriter, "sign: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}
