package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"

	"time"

	"github.com/signet-dev/signet/regclient"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
)

// Rekor names a transparency log to upload to. Version is 1 (Rekor v1,
// entries carry a signed entry timestamp) or 2 (rekor-tiles, which needs a
// timestamp authority for a trusted time).
type Rekor struct {
	URL     string
	Version uint32
}

// Config describes a run's signing identity and services.
type Config struct {
	// Key signs in key mode; nil means keyless (IDToken and FulcioURL),
	// unless Notation is set and IDToken is empty: then the run signs with
	// Notation only.
	Key       *Keypair
	IDToken   string
	FulcioURL string
	// Rekor logs to upload every signature to; empty skips the log.
	Rekor []Rekor
	// TSAURLs are RFC 3161 timestamp authorities (full URL with path).
	TSAURLs []string
	// Notation, if set, also signs every digest with the Notary Project.
	Notation *Notation
	// Transport is the base HTTP transport (default http.DefaultTransport);
	// every call goes through a regclient.Client over it, which bounds,
	// retries and logs each attempt.
	Transport http.RoundTripper
	// Retries is the number of attempts for each service call (default 4).
	// The tags here are sign's flags (cliapp.Flags).
	Retries int `flag:"retries" env:"SIGNET_RETRIES" usage:"attempts per Fulcio/Rekor/TSA/registry call on 429/5xx, a reset or a timeout"`
	// Backoff is the first retry wait (default 500ms).
	Backoff time.Duration
	// Timeout bounds each attempt of each call to Fulcio, Rekor, a TSA or
	// the registry (default 30s): a service that accepts and never answers
	// fails the run after Retries attempts instead of hanging it.
	Timeout time.Duration `flag:"request-timeout" env:"SIGNET_REQUEST_TIMEOUT" usage:"bound on each attempt of each Fulcio/Rekor/TSA/registry call"`
	Log     Logf
}

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 30 * time.Second

// Session signs everything of one run with one key and, when keyless, one
// Fulcio certificate.
type Session struct {
	keypair sgsign.Keypair
	key     *Keypair
	fulcio  *Fulcio
	tlogs   []sgsign.Transparency
	// setLogs are the Rekor v1 logs of tlogs: only their entries (with a
	// signed entry timestamp) fit cosign's legacy annotation.
	setLogs []sgsign.Transparency
	tsas    []*sgsign.TimestampAuthority
	cfg     Config
	log     Logf
	// notation signs with the Notary Project too (or only, when keypair
	// is nil).
	notation *Notation
}

// NewSession validates cfg and prepares the clients. Nothing is contacted
// until the first signature.
func NewSession(cfg Config) (*Session, error) {
	log := cfg.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	cfg.Log = log
	s := &Session{key: cfg.Key, cfg: cfg, log: log, notation: cfg.Notation}
	if s.notation != nil {
		s.notation.bound(cfg.transport("Notation timestamp authority"))
	}
	switch {
	case cfg.Key == nil && cfg.IDToken == "" && cfg.Notation != nil:
		return s, nil // Notation only: no Sigstore service is used
	case cfg.Key != nil:
		s.keypair = cfg.Key
	default:
		if cfg.IDToken == "" {
			return nil, errors.New("keyless signing needs an OIDC identity token (or sign with --key)")
		}
		if cfg.FulcioURL == "" {
			return nil, errors.New("keyless signing needs a Fulcio URL")
		}
		if err := checkFulcioURL(cfg.FulcioURL); err != nil {
			return nil, err
		}
		kp, err := ephemeralKeypair()
		if err != nil {
			return nil, err
		}
		s.keypair = kp
		s.fulcio = &Fulcio{URL: cfg.FulcioURL, Token: cfg.IDToken, Client: fulcioClient(cfg.transport("Fulcio"))}
	}
	for _, r := range cfg.Rekor {
		t, err := newRekor(r, cfg)
		if err != nil {
			return nil, err
		}
		s.tlogs = append(s.tlogs, t)
		if r.Version < 2 {
			s.setLogs = append(s.setLogs, t)
		}
	}
	for _, u := range cfg.TSAURLs {
		// No client timeout and no retries of sigstore-go's own: the
		// transport bounds and retries each attempt (sigstore-go's request
		// carries no context, so only a per-attempt bound ends it).
		s.tsas = append(s.tsas, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{
			URL: u, Transport: cfg.transport("timestamp authority " + hostOf(u)), Timeout: -1}))
	}
	return s, nil
}

// Logf receives progress lines (one per attempt, retry and push).
type Logf func(format string, args ...any)

// Defaults of Config.Retries and Config.Backoff.
const (
	DefaultRetries = 4
	DefaultBackoff = 500 * time.Millisecond
)

// HTTPClient is an HTTP client for one service outside the session (the
// CI's OIDC token endpoint), bounded, retried and logged like the session's.
func (cfg Config) HTTPClient(service string) *http.Client {
	return &http.Client{Transport: cfg.transport(service)}
}

// transport is the bounded, retrying transport of one service.
func (cfg Config) transport(service string) http.RoundTripper {
	return cfg.client(service).Transport()
}

// client is the regclient.Client of one service (the registry's: of one
// run): every attempt bounded by Timeout, 429, 5xx and unanswered
// requests tried Retries times in all, each retry logged.
func (cfg Config) client(service string, opts ...regclient.Option) *regclient.Client {
	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	attempts := cfg.Retries
	if attempts <= 0 {
		attempts = DefaultRetries
	}
	backoff := cfg.Backoff
	if backoff <= 0 {
		backoff = DefaultBackoff
	}
	lim := regclient.Limits{RequestTimeout: cfg.Timeout, Attempts: attempts, Backoff: backoff, MaxBackoff: 8 * time.Second, RetryUnanswered: true}
	return regclient.New(append([]regclient.Option{regclient.WithBase(base), regclient.WithLimits(lim),
		regclient.WithService(service), regclient.WithLog(cfg.Log)}, opts...)...)
}

// budget is the longest one call through cfg.transport can take: every
// attempt timing out plus the backoff between them.
func (cfg Config) budget() time.Duration {
	attempts := cfg.Retries
	if attempts <= 0 {
		attempts = DefaultRetries
	}
	wait := max(cfg.Backoff, DefaultBackoff)
	return time.Duration(attempts)*cfg.Timeout + time.Duration(1<<attempts)*wait
}

func hostOf(rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		return u.Host
	}
	return rawURL
}

// SignsSigstore reports whether the session signs with Sigstore (a key or
// a Fulcio certificate); a Notation-only session does not.
func (s *Session) SignsSigstore() bool { return s.keypair != nil }

// Notation is the session's Notation signer, nil when it has none.
func (s *Session) Notation() *Notation { return s.notation }

// Keyless reports whether the session signs with a Fulcio certificate.
func (s *Session) Keyless() bool { return s.fulcio != nil }

// Key is the signing key in key mode, nil when keyless.
func (s *Session) Key() *Keypair { return s.key }

// Certificate is the run's Fulcio certificate, nil in key mode or before
// the first signature.
func (s *Session) Certificate() *x509.Certificate {
	if s.fulcio == nil || len(s.fulcio.leaf) == 0 {
		return nil
	}
	c, err := x509.ParseCertificate(s.fulcio.leaf)
	if err != nil {
		return nil
	}
	return c
}

// bundle signs content into a Sigstore bundle v0.3 with the session's key,
// certificate, the given logs and the timestamp authorities.
func (s *Session) bundle(ctx context.Context, content sgsign.Content, tlogs []sgsign.Transparency) (*protobundle.Bundle, error) {
	opts := sgsign.BundleOptions{Context: ctx, TransparencyLogs: tlogs, TimestampAuthorities: s.tsas}
	if s.fulcio != nil {
		opts.CertificateProvider = s.fulcio
		opts.CertificateProviderOptions = &sgsign.CertificateProviderOptions{IDToken: s.fulcio.Token}
	}
	b, err := sgsign.Bundle(content, s.keypair, opts)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// timestamp asks every timestamp authority to stamp data (cosign v2's
// legacy attestation layer stamps the envelope bytes, not the signature).
func (s *Session) timestamp(ctx context.Context, data []byte) ([]byte, error) {
	if len(s.tsas) == 0 {
		return nil, nil
	}
	return s.tsas[0].GetTimestamp(ctx, data)
}
