package enforce

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// serve runs Serve on loopback with cfg's limits and returns the webhook
// address; it stops when the test ends. Without cfg.Reloader it serves
// policyA with a fresh certificate.
func serve(t *testing.T, cfg ServerConfig) string {
	t.Helper()
	if cfg.Reloader == nil {
		cfg.Reloader = servingReloader(t, "")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener, cfg.OpsListener, cfg.Log = ln, ops, slog.New(slog.DiscardHandler)
	if cfg.Webhook == nil {
		cfg.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }) //nolint:errcheck
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// servingReloader is a loaded Reloader of policyA with a fresh serving
// certificate, and clientCA as its client CA file if set.
func servingReloader(t *testing.T, clientCA string) *Reloader {
	t.Helper()
	dir := t.TempDir()
	policyPath, certPath, keyPath := filepath.Join(dir, "trust.yaml"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeFile(t, policyPath, policyA)
	writeServingCert(t, certPath, keyPath)
	rl := &Reloader{PolicyPath: policyPath, CertFile: certPath, KeyFile: keyPath, ClientCAFile: clientCA, Log: discardLog()}
	if err := rl.Load(); err != nil {
		t.Fatal(err)
	}
	return rl
}

// keepAlive opens a TLS connection, makes one request on it and leaves it
// idle, as a keep-alive client does.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // a test of connection handling
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET /validate HTTP/1.1\r\nHost: webhook\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	resp.Body.Close()
	return c
}

// TestServeClosesTheLongestIdleConnectionAtTheLimit: idle keep-alive
// clients up to the connection bound cannot lock a new request out (with a
// 1,024 descriptor limit, 1,100 of them once made admissions time out).
func TestServeClosesTheLongestIdleConnectionAtTheLimit(t *testing.T) {
	addr := serve(t, ServerConfig{MaxConnections: 8})
	var idle []net.Conn
	for range 8 {
		idle = append(idle, keepAlive(t, addr))
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	resp, err := client.Get("https://" + addr + "/validate")
	if err != nil {
		t.Fatalf("a new client was locked out by idle ones: %v", err)
	}
	resp.Body.Close()
	idle[0].SetReadDeadline(time.Now().Add(3 * time.Second)) //nolint:errcheck
	if _, err := idle[0].Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("the longest idle connection was not closed: %v", err)
	}
	for _, c := range idle {
		c.Close()
	}
}

// TestServeCutsASlowRequest: a client that sends headers and never the
// whole body loses its connection at the read timeout.
func TestServeCutsASlowRequest(t *testing.T) {
	addr := serve(t, ServerConfig{ReadTimeout: 300 * time.Millisecond})
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(5 * time.Second)) //nolint:errcheck
	_, err = io.ReadAll(c)
	if el := time.Since(start); err != nil || el > 2*time.Second {
		t.Fatalf("connection closed after %s (%v), want at the 300ms read timeout", el, err)
	}
}

func writeServingCert(t *testing.T, certPath, keyPath string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	writeFile(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
}
