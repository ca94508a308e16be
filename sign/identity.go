package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/signet-dev/signet/ci"
	"github.com/signet-dev/signet/internal/kmsplugin"
	"github.com/signet-dev/signet/policy"
)

// IdentityOptions say who a run signs as: with Sigstore, a key (a cosign
// key file, decrypted with $COSIGN_PASSWORD, or a KMS URI) or keyless (an
// explicit OIDC token, a file holding one, else the token of the CI that
// Env describes); with Notation, a key and its certificate chain; or both.
// The tags are sign's flags (cliapp.Flags).
type IdentityOptions struct {
	Key        string `flag:"key" env:"SIGNET_KEY" usage:"cosign private key: a file, env://VAR (the key in an environment variable, as cosign) or a KMS URI; password in COSIGN_PASSWORD; omit for keyless"`
	Token      string `flag:"identity-token" env:"SIGNET_IDENTITY_TOKEN" usage:"OIDC token for Fulcio (default: from GitHub Actions or GitLab's SIGSTORE_ID_TOKEN)"`
	TokenFile  string `flag:"identity-token-file" env:"SIGNET_IDENTITY_TOKEN_FILE" usage:"file holding the OIDC token"`
	NoSigstore bool
	Notation   NotationFiles
	Env        ci.Env
	// Config bounds and retries the CI's token endpoint like the
	// session's services.
	Config Config
}

// NotationFiles name a Notation signer: its key (a PEM file or a KMS URI),
// certificate chain and, optionally, the timestamp authority and its root.
type NotationFiles struct {
	Key      string `flag:"notation-key" env:"SIGNET_NOTATION_KEY" usage:"also sign with Notation: a PEM private key file (PKCS#8, as notation writes) or a KMS URI (ECDSA P-256)"`
	Chain    string `flag:"notation-cert" env:"SIGNET_NOTATION_CERT" usage:"the Notation key's PEM certificate chain, leaf first, root last"`
	Envelope string `flag:"notation-envelope" env:"SIGNET_NOTATION_ENVELOPE" usage:"Notation signature envelope: jws or cose"`
	TSAURL   string `flag:"notation-timestamp-url" env:"SIGNET_NOTATION_TIMESTAMP_URL" usage:"RFC 3161 timestamp authority for the Notation signature"`
	TSARoot  string `flag:"notation-timestamp-root" env:"SIGNET_NOTATION_TIMESTAMP_ROOT" usage:"PEM root certificate of that timestamp authority (required with it)"`
}

// Identity is who a run signs as, known before anything is signed: the
// key or the OIDC token and its claims, the Signer preflight predicts,
// and the Notation signer.
type Identity struct {
	Key      *Keypair
	Token    string
	Claims   ci.Claims
	Signer   Signer
	Notation *Notation
}

// ResolveIdentity loads the run's identity.
func ResolveIdentity(ctx context.Context, o IdentityOptions) (*Identity, error) {
	n, err := loadNotationFiles(ctx, o.Notation, o.NoSigstore)
	if err != nil {
		return nil, err
	}
	id := &Identity{}
	if !o.NoSigstore {
		if id, err = sigstoreIdentity(ctx, o); err != nil {
			return nil, err
		}
	}
	if n != nil {
		id.Notation, id.Signer.Notation = n, n.Signer()
	}
	return id, nil
}

func sigstoreIdentity(ctx context.Context, o IdentityOptions) (*Identity, error) {
	if o.Key != "" {
		kp, err := loadKey(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		return &Identity{Key: kp, Signer: Signer{Key: kp}}, nil
	}
	explicit := o.Token
	if o.TokenFile != "" && explicit == "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading identity token: %w", err)
		}
		explicit = string(b)
	}
	// The Actions token endpoint is bounded and retried like the Sigstore
	// services: a stuck endpoint fails the job instead of hanging it.
	tok, src, err := ci.IDToken(ctx, o.Env, explicit, o.Config.HTTPClient("GitHub Actions token endpoint"))
	if err != nil {
		return nil, err
	}
	claims, err := ci.ParseToken(tok)
	if err != nil {
		return nil, fmt.Errorf("OIDC token from %s: %w", src, err)
	}
	sum, err := claims.ExpectedCertificate(ci.ServerURL(o.Env, claims.System()))
	if err != nil {
		return nil, err
	}
	return &Identity{Token: tok, Claims: claims, Signer: Signer{Certificate: &sum}}, nil
}

func loadKey(ctx context.Context, ref string) (*Keypair, error) {
	if IsKMS(ref) {
		kp, err := LoadKMS(ctx, ref)
		return kp, kmsplugin.Hint(err)
	}
	pass, ok := os.LookupEnv("COSIGN_PASSWORD")
	if !ok {
		return nil, errors.New("set COSIGN_PASSWORD to decrypt " + ref)
	}
	return LoadKey(ref, []byte(pass))
}

// loadNotationFiles is the run's Notation signer, nil without a key.
func loadNotationFiles(ctx context.Context, f NotationFiles, noSigstore bool) (*Notation, error) {
	switch {
	case f.Key == "" && f.Chain == "":
		if noSigstore {
			return nil, errors.New("--sigstore=false leaves nothing to sign with: give --notation-key and --notation-cert")
		}
		return nil, nil
	case f.Key == "" || f.Chain == "":
		return nil, errors.New("Notation signing needs both --notation-key and --notation-cert")
	}
	o := NotationOptions{Envelope: f.Envelope, TSAURL: f.TSAURL}
	if f.TSARoot != "" {
		root, err := readCertificate(f.TSARoot)
		if err != nil {
			return nil, err
		}
		o.TSARoot = root
	}
	return LoadNotation(ctx, f.Key, f.Chain, o)
}

func readCertificate(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading timestamp authority root: %w", err)
	}
	certs, err := policy.ParseCertificates(data)
	if err != nil || len(certs) != 1 {
		return nil, fmt.Errorf("timestamp authority root %s: want one PEM certificate (%v)", path, err)
	}
	return certs[0], nil
}

// Configure makes cfg sign as id, with the services flags name, then the
// signing config at path (if any), then public-good (ChooseServices).
func (id *Identity) Configure(cfg *Config, flags Services, signingConfig string, tlog bool) error {
	cfg.Key, cfg.IDToken, cfg.Notation = id.Key, id.Token, id.Notation
	var sc *root.SigningConfig
	if signingConfig != "" {
		var err error
		if sc, err = root.NewSigningConfigFromPath(signingConfig); err != nil {
			return fmt.Errorf("reading signing config %s: %w", signingConfig, err)
		}
	}
	ChooseServices(flags, sc, tlog).Configure(cfg)
	return nil
}
