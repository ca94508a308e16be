package enforce

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/trustroot"
)

// Reloader keeps the trust policy (and the private trusted root file it
// names) and the serving certificate current. It polls the files' content
// (not mtimes or inotify), which also catches the atomic symlink swaps
// Kubernetes uses for ConfigMap and Secret volumes.
// An invalid new policy or certificate is logged and counted, and the last
// good one stays in force: a typo in trust.yaml never opens the cluster.
type Reloader struct {
	PolicyPath, CertFile, KeyFile string
	Log                           *slog.Logger

	policy atomic.Pointer[policy.Policy]
	cert   atomic.Pointer[tls.Certificate]
	sums   [3][32]byte
	// rootSeen is the digest of the policy's trusted root file when last
	// looked at.
	rootSeen string

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
		r.log().Info("trust policy reloaded", "path", r.PolicyPath, "policyHash", r.Policy().Hash)
	}
	if r.CertFile == "" {
		return
	}
	if changed, err := r.reloadCert(false); err != nil {
		r.CertFailures.Add(1)
		r.log().Error("serving certificate reload failed; keeping the last good one", "cert", r.CertFile, "err", err)
	} else if changed {
		r.CertReloads.Add(1)
		r.log().Info("serving certificate reloaded", "cert", r.CertFile)
	}
}

func (r *Reloader) reloadPolicy(force bool) (bool, error) {
	data, err := os.ReadFile(r.PolicyPath)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(data)
	if !force && sum == r.sums[0] && !r.trustedRootChanged() {
		return false, nil
	}
	p, err := policy.LoadFile(r.PolicyPath)
	if err != nil {
		r.sums[0] = sum // report a bad file once, not every poll
		return false, err
	}
	r.sums[0] = sum
	r.policy.Store(p)
	r.rootSeen = p.Sigstore.TrustedRootDigest
	r.logWarnings(p)
	return true, nil
}

// trustedRootChanged reports whether the private trusted root file the
// policy in force names no longer has the content the policy pinned (its
// digest is part of the policy hash, so a new root is a new policy).
// Each new content is tried once, like a new trust file.
func (r *Reloader) trustedRootChanged() bool {
	p := r.policy.Load()
	if p == nil || p.Sigstore.TrustedRootDigest == "" {
		return false
	}
	data, err := os.ReadFile(p.Sigstore.TrustedRoot)
	seen := "unreadable"
	if err == nil {
		seen = trustroot.Version(data)
	}
	if seen == r.rootSeen {
		return false
	}
	r.rootSeen = seen
	return true
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
	certPEM, err := os.ReadFile(r.CertFile)
	if err != nil {
		return false, err
	}
	keyPEM, err := os.ReadFile(r.KeyFile)
	if err != nil {
		return false, err
	}
	cs, ks := sha256.Sum256(certPEM), sha256.Sum256(keyPEM)
	if !force && cs == r.sums[1] && ks == r.sums[2] {
		return false, nil
	}
	r.sums[1], r.sums[2] = cs, ks
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, err
	}
	r.cert.Store(&c)
	return true, nil
}

func (r *Reloader) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
