package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/urfave/cli/v2"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/internal/kmsplugin"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// signingFlags are shared by image, attest and preflight.
func signingFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "policy", Aliases: []string{"p"}, Usage: "trust policy for preflight and post-check (default ./trust.yaml when present)", EnvVars: []string{"SIGNET_POLICY"}},
		&cli.StringFlag{Name: "key", Usage: "cosign private key file or KMS URI (password in COSIGN_PASSWORD); omit for keyless", EnvVars: []string{"SIGNET_KEY"}},
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
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json", EnvVars: []string{"SIGNET_OUTPUT"}},
		&cli.StringFlag{Name: "dotenv", Value: "signet.env", Usage: "GitLab dotenv report to write (artifacts:reports:dotenv)", EnvVars: []string{"SIGNET_DOTENV"}},
	}
}

// loadSignPolicy loads --policy, or ./trust.yaml when it exists; nil when
// neither (preflight and post-check are then skipped, loudly).
func loadSignPolicy(c *cli.Context) (*policy.Policy, error) {
	path := c.String("policy")
	if path == "" {
		if _, err := os.Stat("trust.yaml"); err != nil {
			return nil, nil
		}
		path = "trust.yaml"
	}
	p, err := policy.LoadFile(path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	return p, nil
}

// identity is everything known about who this run signs as.
type identity struct {
	key      *sign.Keypair
	token    string
	claims   ci.Claims
	signer   sign.Signer
	notation *sign.Notation
}

// resolveIdentity is who the run signs as: Sigstore (a key, or keyless
// through the CI's token) and, with --notation-key, Notation too, or
// Notation only (--sigstore=false).
func resolveIdentity(c *cli.Context, needToken bool) (*identity, error) {
	n, err := loadNotation(c)
	if err != nil {
		return nil, err
	}
	id := &identity{}
	if !notationOnly(c) {
		if id, err = sigstoreIdentity(c); err != nil {
			return nil, err
		}
	}
	if n != nil {
		id.notation, id.signer.Notation = n, n.Signer()
	}
	return id, nil
}

func sigstoreIdentity(c *cli.Context) (*identity, error) {
	ctx := c.Context
	if ref := c.String("key"); ref != "" {
		kp, err := loadKey(ctx, ref)
		if err != nil {
			return nil, err
		}
		return &identity{key: kp, signer: sign.Signer{Key: kp}}, nil
	}
	explicit := c.String("identity-token")
	if f := c.String("identity-token-file"); f != "" && explicit == "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading identity token: %w", err)
		}
		explicit = string(b)
	}
	// The Actions token endpoint is bounded and retried like the Sigstore
	// services: a stuck endpoint fails the job instead of hanging it.
	tokenClient := &http.Client{Transport: &sign.RetryTransport{Service: "GitHub Actions token endpoint",
		Attempts: c.Int("retries"), Timeout: c.Duration("request-timeout"), Log: stderrLog(c)}}
	tok, src, err := ci.IDToken(ctx, ci.OSEnv, explicit, tokenClient)
	if err != nil {
		return nil, err
	}
	claims, err := ci.ParseToken(tok)
	if err != nil {
		return nil, fmt.Errorf("OIDC token from %s: %w", src, err)
	}
	sum, err := claims.ExpectedCertificate(ci.ServerURL(ci.OSEnv, claims.System()))
	if err != nil {
		return nil, err
	}
	return &identity{token: tok, claims: claims, signer: sign.Signer{Certificate: &sum}}, nil
}

func loadKey(ctx context.Context, ref string) (*sign.Keypair, error) {
	if sign.IsKMS(ref) {
		kp, err := sign.LoadKMS(ctx, ref)
		return kp, kmsplugin.Hint(err)
	}
	pass, ok := os.LookupEnv("COSIGN_PASSWORD")
	if !ok {
		return nil, errors.New("set COSIGN_PASSWORD to decrypt " + ref)
	}
	return sign.LoadKeyFile(ref, []byte(pass))
}

// sessionConfig is the identity and the services the flags, the signing
// config and the defaults choose (sign.ChooseServices).
func sessionConfig(c *cli.Context, id *identity) (sign.Config, error) {
	cfg := sign.Config{Key: id.key, IDToken: id.token, Notation: id.notation, Retries: c.Int("retries"), Timeout: c.Duration("request-timeout"), Log: stderrLog(c)}
	flags := sign.Services{FulcioURL: c.String("fulcio-url"), TSAURLs: c.StringSlice("timestamp-url")}
	if u := c.String("rekor-url"); u != "" {
		flags.Rekor = []sign.Rekor{{URL: u, Version: 1}}
	}
	var sc *root.SigningConfig
	if path := c.String("signing-config"); path != "" {
		var err error
		if sc, err = root.NewSigningConfigFromPath(path); err != nil {
			return cfg, usageError("reading signing config %s: %v", path, err)
		}
	}
	sign.ChooseServices(flags, sc, c.Bool("tlog-upload")).Configure(&cfg)
	return cfg, nil
}

func stderrLog(c *cli.Context) sign.Logf {
	return func(format string, args ...any) {
		fmt.Fprintf(c.App.ErrWriter, "sign: "+strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}
