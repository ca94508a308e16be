package enforce

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServerConfig is everything Serve needs.
type ServerConfig struct {
	// Listener for the webhook (TLS is added here) and for health/metrics
	// (plain HTTP, meant for the kubelet and Prometheus only).
	Listener, OpsListener net.Listener
	// Webhook is the webhook handler (a *Webhook, possibly wrapped).
	Webhook        http.Handler
	Reloader       *Reloader
	ReloadInterval time.Duration
	// Metrics, if set, is served at /metrics on the ops listener.
	Metrics http.Handler
	Log     *slog.Logger
	// Deadline is the webhook's time budget per request (default
	// DefaultDeadline, as Webhook's); the server's write timeout leaves 5s
	// beyond it.
	Deadline time.Duration
	// MaxConnections bounds open webhook connections (default
	// DefaultMaxConnections); MaxConnectionsPerClient those of one remote
	// IP without a verified client certificate (default a quarter of
	// MaxConnections). At a bound the connection that made no progress the
	// longest is closed (see connLimit).
	MaxConnections, MaxConnectionsPerClient int
	// ReadTimeout bounds reading one request, headers and body (default
	// 10s; a request is at most MaxRequestBytes). IdleTimeout closes a
	// keep-alive connection without requests (default 2m: longer than the
	// apiserver's own 90s, so normally the client closes first and never
	// races a request against the server's close).
	ReadTimeout, IdleTimeout time.Duration
}

const readHeaderTimeout = 5 * time.Second

// DefaultReloadInterval is how often the trust file and the serving
// certificate are checked for changes.
const DefaultReloadInterval = 2 * time.Second

// Serve runs the webhook over TLS 1.2+ and the ops endpoints until ctx ends,
// then shuts both down gracefully. With a client CA (Reloader.ClientCAFile)
// every webhook client must present a certificate that chains to it.
func Serve(ctx context.Context, cfg ServerConfig) error {
	tlsCfg := serverTLS(cfg.Reloader)
	deadline := orDefault(cfg.Deadline, DefaultDeadline)
	readTimeout, idleTimeout := orDefault(cfg.ReadTimeout, 10*time.Second), orDefault(cfg.IdleTimeout, 2*time.Minute)
	conns := limitConns(tls.NewListener(cfg.Listener, tlsCfg), cfg.MaxConnections, cfg.MaxConnectionsPerClient)
	hooks := &http.Server{Handler: cfg.Webhook, TLSConfig: tlsCfg, ConnState: conns.track, ConnContext: conns.connContext,
		ReadHeaderTimeout: min(readHeaderTimeout, readTimeout), ReadTimeout: readTimeout, WriteTimeout: deadline + 5*time.Second,
		IdleTimeout: idleTimeout, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn)}
	ops := &http.Server{Handler: opsMux(cfg), ReadHeaderTimeout: readHeaderTimeout, ReadTimeout: readTimeout, WriteTimeout: time.Minute, IdleTimeout: idleTimeout}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go cfg.Reloader.Watch(ctx, orDefault(cfg.ReloadInterval, DefaultReloadInterval))

	errc := make(chan error, 2)
	go func() { errc <- hooks.Serve(conns) }()
	go func() { errc <- ops.Serve(cfg.OpsListener) }()
	cfg.Log.Info("enforce serving", "webhook", cfg.Listener.Addr().String(), "ops", cfg.OpsListener.Addr().String(), "policyHash", cfg.Reloader.Policy().Hash)

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	_ = hooks.Shutdown(shutdown)
	_ = ops.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// serverTLS is the webhook's TLS configuration: the reloader's serving
// certificate and, when it has a client CA file, a client certificate
// required and verified against the CAs in force at each handshake.
func serverTLS(r *Reloader) *tls.Config {
	base := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate, NextProtos: []string{"h2", "http/1.1"}}
	if r.ClientCAFile == "" {
		return base
	}
	cfg := base.Clone()
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c := base.Clone()
		c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, r.ClientCAs()
		return c, nil
	}
	return cfg
}

// orDefault is v, or def when v is unset.
func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func opsMux(cfg ServerConfig) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if cfg.Reloader.Policy() == nil {
			http.Error(w, "no trust policy loaded", http.StatusServiceUnavailable)
			return
		}
		if _, err := cfg.Reloader.GetCertificate(nil); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ok policy %s\n", cfg.Reloader.Policy().Hash)
	})
	if cfg.Metrics != nil {
		mux.Handle("/metrics", cfg.Metrics)
	}
	return mux
}
