package sign

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	rekorclient "github.com/sigstore/rekor/pkg/client"
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
	// Key signs in key mode; nil means keyless (IDToken and FulcioURL).
	Key       *Keypair
	IDToken   string
	FulcioURL string
	// Rekor logs to upload every signature to; empty skips the log.
	Rekor []Rekor
	// TSAURLs are RFC 3161 timestamp authorities (full URL with path).
	TSAURLs []string
	// Transport is the base HTTP transport (default http.DefaultTransport);
	// it is wrapped in a RetryTransport.
	Transport http.RoundTripper
	// Retries is the number of attempts for each service call (default 4).
	Retries int
	// Backoff is the first retry wait (default 500ms).
	Backoff time.Duration
	Log     Logf
}

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
	http    *http.Client
	retry   *RetryTransport
	log     Logf
	// writes serialises registry writes: a signature and an attestation
	// of one digest are signed concurrently, but the referrers fallback
	// tag they both update is read, modified and written.
	writes sync.Mutex
}

// NewSession validates cfg and prepares the clients. Nothing is contacted
// until the first signature.
func NewSession(cfg Config) (*Session, error) {
	log := cfg.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	rt := &RetryTransport{Base: cfg.Transport, Attempts: cfg.Retries, Backoff: cfg.Backoff, Log: log}
	s := &Session{key: cfg.Key, http: &http.Client{Transport: rt, Timeout: 2 * time.Minute}, retry: rt, log: log}
	if cfg.Key != nil {
		s.keypair = cfg.Key
	} else {
		if cfg.IDToken == "" {
			return nil, errors.New("keyless signing needs an OIDC identity token (or sign with --key)")
		}
		if cfg.FulcioURL == "" {
			return nil, errors.New("keyless signing needs a Fulcio URL")
		}
		kp, err := ephemeralKeypair()
		if err != nil {
			return nil, err
		}
		s.keypair = kp
		s.fulcio = &Fulcio{URL: cfg.FulcioURL, Token: cfg.IDToken, Client: s.http}
	}
	for _, r := range cfg.Rekor {
		t, err := newRekor(r, cfg, log)
		if err != nil {
			return nil, err
		}
		s.tlogs = append(s.tlogs, t)
		if r.Version < 2 {
			s.setLogs = append(s.setLogs, t)
		}
	}
	for _, u := range cfg.TSAURLs {
		s.tsas = append(s.tsas, sgsign.NewTimestampAuthority(&sgsign.TimestampAuthorityOptions{URL: u, Transport: rt}))
	}
	return s, nil
}

func newRekor(r Rekor, cfg Config, log Logf) (sgsign.Transparency, error) {
	switch r.Version {
	case 0, 1:
		retries := cfg.Retries
		if retries <= 0 {
			retries = 4
		}
		c, err := rekorclient.GetRekorClient(r.URL,
			rekorclient.WithRetryCount(uint(retries-1)),
			rekorclient.WithRetryWaitMin(max(cfg.Backoff, time.Millisecond)),
			rekorclient.WithLogger(retryLogger{log}))
		if err != nil {
			return nil, fmt.Errorf("creating Rekor client for %s: %w", r.URL, err)
		}
		return sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: r.URL, Client: c.Entries, Version: 1}), nil
	case 2:
		return sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: r.URL, Version: 2, Retries: uint(max(cfg.Retries-1, 3))}), nil
	}
	return nil, fmt.Errorf("Rekor %s: unsupported API version %d", r.URL, r.Version)
}

// retryLogger adapts Logf to retryablehttp's LeveledLogger, which the Rekor
// v1 client uses for each request and retry. Only its warnings and errors
// (a request that failed) reach the user; its per-request and per-retry
// [DEBUG] lines are third-party noise.
type retryLogger struct{ log Logf }

func (l retryLogger) Error(msg string, kv ...any) { l.log("rekor: %s%s", msg, keyvals(kv)) }
func (l retryLogger) Warn(msg string, kv ...any)  { l.log("rekor: %s%s", msg, keyvals(kv)) }
func (retryLogger) Info(string, ...any)           {}
func (retryLogger) Debug(string, ...any)          {}

func keyvals(kv []any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%v", kv[i], kv[i+1])
	}
	return b.String()
}

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

// write runs one registry write at a time.
func (s *Session) write(f func() error) error {
	s.writes.Lock()
	defer s.writes.Unlock()
	return f()
}

// registryOptions send registry requests through the session's
// RetryTransport, like every Sigstore call, and turn go-containerregistry's
// own retries off (one step of backoff), so a 503 or 429 is retried the
// configured number of times, each attempt logged, instead of being retried
// silently by both layers.
func (s *Session) registryOptions() []remote.Option {
	return []remote.Option{remote.WithTransport(s.retry), remote.WithRetryBackoff(remote.Backoff{Steps: 1})}
}
