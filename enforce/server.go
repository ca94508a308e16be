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
}

// Serve runs the webhook over TLS 1.2+ and the ops endpoints until ctx ends,
// then shuts both down gracefully.
func Serve(ctx context.Context, cfg ServerConfig) error {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cfg.Reloader.GetCertificate}
	hooks := &http.Server{Handler: cfg.Webhook, TLSConfig: tlsCfg, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Log.Handler(), slog.LevelWarn)}
	ops := &http.Server{Handler: opsMux(cfg), ReadHeaderTimeout: 5 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	interval := cfg.ReloadInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	go cfg.Reloader.Watch(ctx, interval)

	errc := make(chan error, 2)
	go func() { errc <- hooks.ServeTLS(cfg.Listener, "", "") }()
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
