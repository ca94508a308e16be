package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/signet-dev/signet/test/stack"
)

// servingCert writes a CA and a serving certificate for 127.0.0.1 and
// returns their paths and the CA PEM (the webhook configuration's caBundle).
func servingCert(t *testing.T, dir string) (certPath, keyPath string, caPEM []byte) {
	t.Helper()
	ca := newCA(t, "signet-e2e-ca")
	certPEM, keyPEM := ca.issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: "enforce"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	certPath, keyPath = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write(t, certPath, certPEM)
	write(t, keyPath, keyPEM)
	return certPath, keyPath, ca.PEM
}

// testCA issues the tests' serving and client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

func newCA(t *testing.T, cn string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue signs a certificate with tmpl's subject, names and extended key
// usages, valid for a day, and returns it and its key in PEM.
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = big.NewInt(2), time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startEnforce runs the enforce binary and waits for /readyz. It is stopped
// (and reaped) when the test ends, or killed with the test binary.
func startEnforce(t *testing.T, policyPath, cert, key string, extra ...string) (webhookPort, opsPort int) {
	t.Helper()
	p := launchEnforce(t, policyPath, cert, key, launch{args: extra})
	return p.port, p.ops
}

// launch is how launchEnforce runs the binary: extra environment, a file
// descriptor limit (via the shell's ulimit), extra flags, the binary
// (enforceBin unless set) and the webhook port (a free one unless set).
type launch struct {
	env     []string
	fdLimit int
	args    []string
	bin     string
	port    int
}

// enforceProc is a running enforce: its webhook and ops ports, its process id.
type enforceProc struct {
	port, ops, pid int
}

func launchEnforce(t *testing.T, policyPath, cert, key string, l launch) enforceProc {
	t.Helper()
	port, ops := l.port, stack.FreePort(t)
	if port == 0 {
		port = stack.FreePort(t)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "enforce.log"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--policy", policyPath, "--tls-cert", cert, "--tls-key", key,
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--ops-listen", fmt.Sprintf("127.0.0.1:%d", ops),
		"--reload-interval", "200ms", "--deadline", "4s"}, l.args...)
	bin := l.bin
	if bin == "" {
		bin = enforceBin
	}
	cmd := exec.Command(bin, args...)
	if l.fdLimit > 0 {
		// exec keeps the pid: the shell becomes enforce, with the limit.
		cmd = exec.Command("/bin/sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, l.fdLimit), bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), l.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		var exit *exec.ExitError
		if err := cmd.Wait(); errors.As(err, &exit) && exit.ExitCode() == 66 {
			t.Errorf("enforce exited with status 66: the race detector found a data race (see its log)")
		}
		if t.Failed() {
			if data, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("enforce log:\n%s", tail(string(data), 4000))
			}
		}
	})
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", ops)
	waitFor(t, 30*time.Second, "enforce /readyz", func() error {
		resp, err := http.Get(ready)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	return enforceProc{port: port, ops: ops, pid: cmd.Process.Pid}
}

// scrapeMetrics reads enforce's /metrics.
func scrapeMetrics(t *testing.T, opsPort int) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", opsPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// auditRecord is the part of an audit.k8s.io/v1 Event these tests read.
type auditRecord struct {
	Verb      string `json:"verb"`
	Stage     string `json:"stage"`
	ObjectRef struct {
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
	} `json:"objectRef"`
	Annotations map[string]string `json:"annotations"`
}

// auditEvent finds the completed audit event of one request in the
// apiserver's JSON audit log.
func auditEvent(path, verb, resource, namespace, name string) (*auditRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var ev auditRecord
		if json.Unmarshal(line, &ev) != nil {
			continue
		}
		if ev.Stage == "ResponseComplete" && ev.Verb == verb && ev.ObjectRef.Resource == resource &&
			ev.ObjectRef.Namespace == namespace && ev.ObjectRef.Name == name {
			return &ev, nil
		}
	}
	return nil, fmt.Errorf("no %s %s %s/%s in the audit log (%d bytes)", verb, resource, namespace, name, len(data))
}

// waitFor polls cond until it succeeds or the timeout passes: waiting on a
// condition, never sleeping a guessed duration.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if last = cond(); last == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, last)
		case <-tick.C:
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// authRegistry is an in-process registry that demands basic auth, like a
// private registry, with the option that lets the test itself write to it.
type authRegistry struct {
	host string
	auth remote.Option
}

func privateRegistry(t *testing.T) authRegistry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "ci" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return authRegistry{host: strings.TrimPrefix(srv.URL, "http://"), auth: remote.WithAuth(&authn.Basic{Username: "ci", Password: "s3cret"})}
}
