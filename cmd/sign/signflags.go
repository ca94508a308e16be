package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/internal/cliapp"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// signing is what the flags of image, attest, preflight and blob fill: the
// settings sign and attest own declare their flags in their tags
// (cliapp.Flags), the command's own are signFlags.
type signing struct {
	Identity sign.IdentityOptions
	Services sign.Services
	Files    attest.Files
}

// The flags of the signing commands, in the order their help lists them.
var (
	signingNames = []string{"policy", "key", "identity-token", "identity-token-file", "fulcio-url", "rekor-url", "tlog-upload", "timestamp-url",
		"signing-config", "format", "no-post-check", "index-only", "offline", "retries", "request-timeout", "output", "dotenv"}
	notationNames    = []string{"notation-key", "notation-cert", "notation-envelope", "notation-timestamp-url", "notation-timestamp-root", "sigstore"}
	attestationNames = []string{"sbom", "vuln", "predicate", "type"}
)

// newSigning holds the defaults the flags show.
func newSigning() *signing {
	return &signing{Identity: sign.IdentityOptions{Notation: sign.NotationFiles{Envelope: "jws"},
		Config: sign.Config{Retries: sign.DefaultRetries, Timeout: sign.DefaultTimeout}}}
}

// flags are the named flags, in that order, bound to s.
func (s *signing) flags(names ...[]string) []cli.Flag {
	return cliapp.Select(append(cliapp.Flags(s), signFlags()...), slices.Concat(names...)...)
}

// signFlags are the settings of sign's signing commands themselves.
func signFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy for preflight and post-check (default ./trust.yaml when present)", EnvVars: []string{"SIGNET_POLICY"}},
		&cli.StringFlag{Name: "rekor-url", Usage: "Rekor v1 URL (default public-good)", EnvVars: []string{"SIGNET_REKOR_URL"}},
		&cli.BoolFlag{Name: "tlog-upload", Value: true, Usage: "upload signatures to the Rekor transparency log", EnvVars: []string{"SIGNET_TLOG_UPLOAD"}},
		&cli.StringFlag{Name: "signing-config", Usage: "Sigstore signing_config.json naming Fulcio, Rekor and TSA URLs (flags override it)", EnvVars: []string{"SIGNET_SIGNING_CONFIG"}},
		&cli.StringFlag{Name: "format", Value: "both", Usage: "layouts to write: both, bundle (cosign v3 referrer) or legacy (cosign v2 .sig/.att)", EnvVars: []string{"SIGNET_FORMAT"}},
		&cli.BoolFlag{Name: "no-post-check", Usage: "UNSAFE: skip verifying the pushed signatures with the trust policy", EnvVars: []string{"SIGNET_NO_POST_CHECK"}},
		&cli.BoolFlag{Name: "index-only", Usage: "sign an image index but not its child manifests", EnvVars: []string{"SIGNET_INDEX_ONLY"}},
		&cli.BoolFlag{Name: "offline", Usage: "post-check with the embedded public-good trusted root", EnvVars: []string{"SIGNET_OFFLINE"}},
		cliapp.OutputFlag("text"),
		&cli.StringFlag{Name: "dotenv", Value: "signet.env", Usage: "GitLab dotenv report to write (artifacts:reports:dotenv)", EnvVars: []string{"SIGNET_DOTENV"}},
		&cli.BoolFlag{Name: "sigstore", Value: true, Usage: "sign with Sigstore (key or keyless); --sigstore=false with --notation-key signs with Notation only", EnvVars: []string{"SIGNET_SIGSTORE"}},
		&cli.StringFlag{Name: "type", Usage: "predicate type of --predicate: a name (" + strings.Join(policy.PredicateTypeNames(), ", ") + ") or a URI", EnvVars: []string{"SIGNET_TYPE"}},
		&cli.BoolFlag{Name: "attest", Usage: "also attach SLSA v1 provenance built from the CI environment", EnvVars: []string{"SIGNET_ATTEST"}},
		&cli.BoolFlag{Name: "publish-failing", Usage: "attach attestations even when the trust policy's conditions fail on them (the post-check still fails)", EnvVars: []string{"SIGNET_PUBLISH_FAILING"}},
		&cli.StringFlag{Name: "bundle", Usage: "where to write the bundle (default FILE.sigstore.json)", EnvVars: []string{"SIGNET_BUNDLE"}},
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

// resolveIdentity is who the run signs as (sign.ResolveIdentity).
func resolveIdentity(c *cli.Context, s *signing) (*sign.Identity, error) {
	o := s.Identity
	o.NoSigstore, o.Env, o.Config.Log = c.IsSet("sigstore") && !c.Bool("sigstore"), osEnv, stderrLog(c)
	return sign.ResolveIdentity(c.Context, o)
}

// session is a signing session as id, with the services the flags, the
// signing config and the defaults choose (sign.ChooseServices).
func session(c *cli.Context, s *signing, id *sign.Identity) (*sign.Session, error) {
	cfg, services := s.Identity.Config, s.Services
	cfg.Log = stderrLog(c)
	if u := c.String("rekor-url"); u != "" {
		services.Rekor = []sign.Rekor{{URL: u, Version: 1}}
	}
	if err := id.Configure(&cfg, services, c.String("signing-config"), c.Bool("tlog-upload")); err != nil {
		return nil, usageError("%v", err)
	}
	sess, err := sign.NewSession(cfg)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return sess, nil
}

// predicates are what a run attaches (attest.Predicates): provenance
// when withProvenance, or when the attestation flags name nothing (`sign
// attest` alone attests provenance), then --sbom, --vuln and
// --predicate/--type.
func predicates(c *cli.Context, s *signing, claims ci.Claims, withProvenance bool) ([]attest.Predicate, error) {
	f := s.Files
	f.Type = c.String("type")
	return attest.Predicates(f, withProvenance || f.Empty() && c.Command.Name == "attest", osEnv, claims, time.Now())
}

func stderrLog(c *cli.Context) sign.Logf {
	return func(format string, args ...any) {
		fmt.Fprintf(c.App.ErrWriter, "sign: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}
