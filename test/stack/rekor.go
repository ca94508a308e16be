package stack

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// Rekor is a Rekor v2 (rekor-tiles) log with POSIX storage in a temp dir.
type Rekor struct {
	URL       string // http://127.0.0.1:port; clients POST to /api/v2/log/entries
	PublicKey crypto.PublicKey
	LogID     []byte // SHA-256 of the PKIX public key, as rekor-tiles computes it for ECDSA
	started   time.Time
}

// startRekor runs rekor-tiles' POSIX server. The checkpoint origin (--hostname) is
// 127.0.0.1 because sigstore-go checks a Rekor v2 checkpoint against the hostname
// of the log's baseUrl in the trusted root.
func (s *Stack) startRekor(ctx context.Context) (*Rekor, error) {
	dir := filepath.Join(s.Dir, "rekor")
	keyPath := filepath.Join(dir, "signer.pem")
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	key, err := writeECKey(keyPath)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	id := sha256.Sum256(der)
	r := &Rekor{PublicKey: key.Public(), LogID: id[:], started: time.Now().Add(-time.Minute)}
	err = onFreePorts(3, func(ports []int) error {
		storage := filepath.Join(dir, "log")
		// A log that lost a port may have begun its tree here.
		if err := os.RemoveAll(storage); err != nil {
			return err
		}
		r.URL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		p, err := s.run(ctx, "rekor", ToolRekor, dir, nil, "serve",
			"--hostname=127.0.0.1", "--storage-dir="+storage, "--signer-filepath="+keyPath,
			"--http-address=127.0.0.1", fmt.Sprintf("--http-port=%d", ports[0]),
			"--grpc-address=127.0.0.1", fmt.Sprintf("--grpc-port=%d", ports[1]),
			fmt.Sprintf("--http-metrics-port=%d", ports[2]), "--tlog-timeout=2s",
			// tessera publishes a checkpoint every 10s by default and a write waits for it.
			"--checkpoint-interval=200ms", "--batch-max-age=50ms")
		if err != nil {
			return err
		}
		return p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, r.URL+"/healthz"))
	})
	return r, err
}

func (r *Rekor) transparencyLog() *root.TransparencyLog {
	return &root.TransparencyLog{
		BaseURL: r.URL, ID: r.LogID, ValidityPeriodStart: r.started,
		HashFunc: crypto.SHA256, PublicKey: r.PublicKey, SignatureHashFunc: crypto.SHA256,
	}
}
