package enforce

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/signet-dev/signet/policy"
)

// Reloader keeps the trust policy (with every file it names: key files,
// a private trusted root), the serving certificate and the client CA
// current. It polls the files' content (not mtimes or inotify), which also
// catches the atomic symlink swaps Kubernetes uses for ConfigMap and Secret
// volumes.
// An invalid new policy or certificate is logged and counted, and the last
// good one stays in force: a typo in trust.yaml never opens the cluster.
type Reloader struct {
	PolicyPath, CertFile, KeyFile string
	// ClientCAFile, if set, holds the CAs a webhook client's certificate
	// must chain to (Serve then requires one: see ClientCAs).
	ClientCAFile string
	Log          *slog.Logger

	policy    atomic.Pointer[policy.Policy]
	cert      atomic.Pointer[tls.Certificate]
	clientCAs atomic.Pointer[x509.CertPool]
	// policyFiles are the files the last policy load read, as it read them
	// (policy.Policy.Files, or a failed load's): any change loads again.
	policyFiles []policy.File
	// certFiles and caFiles are the serving key pair and the client CA as
	// last read.
	certFiles, caFiles []policy.File

	PolicyReloads, PolicyFailures, CertReloads, CertFailures atomic.Int64
}

// Load reads everything once; errors here are fatal to startup.
func (r *Reloader) Load() error {
	if _, err := r.reloadPolicy(true); err != nil {
		return err
	}
	if r.CertFile != "" {
		if _, err := r.reloadCert(true); err != nil {
			return err
		}
	}
	if r.ClientCAFile != "" {
		if _, err := r.reloadClientCAs(true); err != nil {
			return err
		}
	}
	return nil
}

// Policy returns the policy in force.
func (r *Reloader) Policy() *policy.Policy { return r.policy.Load() }

// GetCertificate serves the certificate in force (tls.Config hook).
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := r.cert.Load()
	if c == nil {
		return nil, fmt.Errorf("no serving certificate loaded")
	}
	return c, nil
}

// ClientCAs is the pool of CAs in force from ClientCAFile, or nil when
// none is configured.
func (r *Reloader) ClientCAs() *x509.CertPool { return r.clientCAs.Load() }

// Watch polls every interval until ctx ends.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Check()
		}
	}
}

// Check reloads whatever changed since the last check.
func (r *Reloader) Check() {
	if changed, err := r.reloadPolicy(false); err != nil {
		r.PolicyFailures.Add(1)
		r.log().Error("trust policy reload failed; keeping the last good policy", "path", r.PolicyPath, "err", err, "policyHash", r.Policy().Hash)
	} else if changed {
		r.PolicyReloads.Add(1)
		r.log().Info("trust policy reloaded", "path", r.PolicyPath, "files", len(r.policyFiles), "policyHash", r.Policy().Hash)
	}
	if r.CertFile != "" {
		r.report(r.reloadCert(false))("serving certificate", r.CertFile)
	}
	if r.ClientCAFile != "" {
		r.report(r.reloadClientCAs(false))("client CA", r.ClientCAFile)
	}
}

// report logs and counts the outcome of a certificate or CA reload.
func (r *Reloader) report(changed bool, err error) func(what, path string) {
	return func(what, path string) {
		switch {
		case err != nil:
			r.CertFailures.Add(1)
			r.log().Error(what+" reload failed; keeping the last good one", "path", path, "err", err)
		case changed:
			r.CertReloads.Add(1)
			r.log().Info(what+" reloaded", "path", path)
		}
	}
}

// reloadPolicy loads the trust file again when any file the last load read
// changed: the trust file, a key file named by path, a trusted root. Each
// new content is tried once, like a new trust file.
func (r *Reloader) reloadPolicy(force bool) (bool, error) {
	if !force && !anyChanged(r.policyFiles) {
		return false, nil
	}
	p, err := policy.LoadFile(r.PolicyPath)
	switch le := (*policy.LoadError)(nil); {
	case p != nil:
		r.policyFiles = p.Files
	case errors.As(err, &le):
		r.policyFiles = le.Files // report a bad policy once, not every poll
	default:
		r.policyFiles = []policy.File{{Path: r.PolicyPath}} // unreadable: try when it is back
	}
	if err != nil {
		return false, err
	}
	r.policy.Store(p)
	r.logWarnings(p)
	return true, nil
}

func anyChanged(files []policy.File) bool {
	for _, f := range files {
		if f.Changed() {
			return true
		}
	}
	return false
}

// readAll reads paths for a reload, recording what was read.
func readAll(paths ...string) ([][]byte, []policy.File, error) {
	var data [][]byte
	var files []policy.File
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		data, files = append(data, b), append(files, policy.NewFile(p, b))
	}
	return data, files, nil
}

// logWarnings logs each lint warning of a newly loaded policy once (they
// are also exported as signet_policy_warnings): legal, but probably not
// what its author meant.
func (r *Reloader) logWarnings(p *policy.Policy) {
	for _, w := range p.Warnings {
		r.log().Warn("trust policy warning", "path", r.PolicyPath, "line", w.Line, "column", w.Column, "field", w.Field,
			"code", string(w.Code), "warning", w.Msg, "policyHash", p.Hash)
	}
}

func (r *Reloader) reloadCert(force bool) (bool, error) {
	if !force && !anyChanged(r.certFiles) {
		return false, nil
	}
	data, files, err := readAll(r.CertFile, r.KeyFile)
	if err != nil {
		return false, err
	}
	r.certFiles = files
	c, err := tls.X509KeyPair(data[0], data[1])
	if err != nil {
		return false, err
	}
	r.cert.Store(&c)
	return true, nil
}

func (r *Reloader) reloadClientCAs(force bool) (bool, error) {
	if !force && !anyChanged(r.caFiles) {
		return false, nil
	}
	data, files, err := readAll(r.ClientCAFile)
	if err != nil {
		return false, err
	}
	r.caFiles = files
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data[0]) {
		return false, fmt.Errorf("client CA file %s holds no PEM certificate", r.ClientCAFile)
	}
	r.clientCAs.Store(pool)
	return true, nil
}

func (r *Reloader) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
