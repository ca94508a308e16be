package enforce

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/verify"
)

// testCA issues client certificates, as a cluster's CA issues the
// apiserver's.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	PEM  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// client issues a client certificate for cn.
func (ca *testCA) client(t *testing.T, cn string) *tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// allowAll decides every image allowed at once.
type allowAll struct{}

func (allowAll) Decide(_ context.Context, req verify.Request) *verify.Decision {
	return &verify.Decision{Image: req.Image}
}

// hookServer is Serve with a real Webhook (and metrics in front, as
// enforce serve has it) over decider, counting requests whose handler
// started (their headers are in).
type hookServer struct {
	addr    string
	entered atomic.Int64
}

func serveHook(t *testing.T, cfg ServerConfig, decider verify.Decider, bodyTimeout time.Duration) *hookServer {
	t.Helper()
	if cfg.Reloader == nil {
		cfg.Reloader = servingReloader(t, "")
	}
	hs := &hookServer{}
	wh := &Webhook{Handler: &Handler{Decider: decider, Policy: cfg.Reloader.Policy}, BodyTimeout: bodyTimeout}
	metered := NewMetrics(NewCache(verify.New(), CacheConfig{}), cfg.Reloader).Wrap(wh)
	cfg.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.entered.Add(1)
		metered.ServeHTTP(w, r)
	})
	hs.addr = serve(t, cfg)
	return hs
}

func (hs *hookServer) waitEntered(t *testing.T, n int64) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d requests in the webhook", n), func() bool { return hs.entered.Load() >= n })
}

func reviewJSON(t *testing.T) []byte {
	t.Helper()
	req := request(t, "Pod", "prod", pod(podSpec(nil, []string{"registry.example/app@sha256:" + fmt.Sprintf("%064d", 1)})), admissionv1.Create, "")
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// admitOver sends one review on a new connection from 127.0.0.1 (with cert, if
// set) and returns whether it was allowed, within timeout.
func admitOver(t *testing.T, addr string, cert *tls.Certificate, timeout time.Duration) (bool, error) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // a test of connection handling
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
	resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(reviewJSON(t)))
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		return false, fmt.Errorf("status %s: %v", resp.Status, err)
	}
	return out.Response.Allowed, nil
}

// dialFrom opens a TCP connection to addr from the loopback address local:
// another client, as far as the server can tell.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// slowBody opens a TLS connection from local and sends a review's headers
// and the first byte of its body, then nothing more.
func slowBody(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	c := tls.Client(dialFrom(t, local, addr), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec
	fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	return c
}

// closedByServer reports whether the server closed c: a read ends with
// EOF or a reset rather than the probe's short timeout.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond)) //nolint:errcheck
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestServeEvictsASlowBodyBeforeAnAdmissionWaits: every connection is a
// client trickling a request body in; an admission from the apiserver
// still gets in at once, in place of the one stalled the longest.
func TestServeEvictsASlowBodyBeforeAnAdmissionWaits(t *testing.T) {
	hs := serveHook(t, ServerConfig{MaxConnections: 8, MaxConnectionsPerClient: 8, ReadTimeout: time.Minute}, allowAll{}, time.Minute)
	for i := range 8 {
		slowBody(t, "127.0.0.2", hs.addr)
		hs.waitEntered(t, int64(i+1))
	}
	if ok, err := admitOver(t, hs.addr, nil, 5*time.Second); err != nil || !ok {
		t.Fatalf("an admission waited behind slow request bodies: allowed=%v, %v", ok, err)
	}
}

// TestServeKeepsEachClientToItsShare: a client opening more connections
// than its share loses its stalest ones; the others are unaffected.
func TestServeKeepsEachClientToItsShare(t *testing.T) {
	hs := serveHook(t, ServerConfig{MaxConnections: 16, MaxConnectionsPerClient: 4, ReadTimeout: time.Minute}, allowAll{}, time.Minute)
	var conns []net.Conn
	for i := range 10 {
		conns = append(conns, slowBody(t, "127.0.0.2", hs.addr))
		hs.waitEntered(t, int64(i+1))
	}
	for i, c := range conns {
		if closed, want := closedByServer(c), i < 6; closed != want {
			t.Errorf("slow connection %d of 10: closed=%v, want %v (a client keeps its 4 newest)", i, closed, want)
		}
	}
	if ok, err := admitOver(t, hs.addr, nil, 5*time.Second); err != nil || !ok {
		t.Fatalf("another client's admission failed: allowed=%v, %v", ok, err)
	}
}

// TestServeCutsASlowBody: a body still arriving after the body timeout
// ends its request (408) and its connection, long before the read timeout,
// through the metrics wrapper enforce serve puts in front.
func TestServeCutsASlowBody(t *testing.T) {
	hs := serveHook(t, ServerConfig{ReadTimeout: time.Minute}, allowAll{}, 200*time.Millisecond)
	c := slowBody(t, "127.0.0.1", hs.addr)
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
	out, err := io.ReadAll(c)
	if el := time.Since(start); err != nil || el > 5*time.Second || !bytes.Contains(out, []byte(" 408 ")) {
		t.Fatalf("after %s: %q, %v; want a 408 and the connection closed at the 200ms body timeout", el.Round(time.Millisecond), out, err)
	}
}

// slowDecider takes longer than the body timeout to decide, and denies if
// its request is cancelled meanwhile.
type slowDecider struct{ d time.Duration }

func (s slowDecider) Decide(ctx context.Context, req verify.Request) *verify.Decision {
	select {
	case <-time.After(s.d):
		return &verify.Decision{Image: req.Image}
	case <-ctx.Done():
		return &verify.Decision{Image: req.Image, Reasons: []verify.Reason{verify.NewReason(verify.CodeDeadlineExceeded, "cancelled: %v", ctx.Err())}}
	}
}

// TestServeDecisionOutlivesTheBodyTimeout: the body timeout bounds reading
// the request, not deciding it: a decision longer than it is answered (a
// read deadline, unlike a context deadline, ends with the body: net/http
// lifts it when the body is read to its end).
func TestServeDecisionOutlivesTheBodyTimeout(t *testing.T) {
	hs := serveHook(t, ServerConfig{}, slowDecider{d: time.Second}, 100*time.Millisecond)
	if ok, err := admitOver(t, hs.addr, nil, 10*time.Second); err != nil || !ok {
		t.Fatalf("a decision longer than the body timeout: allowed=%v, %v", ok, err)
	}
}

// TestServeRequiresAClientCertificateFromItsCA: with a client CA, the TLS
// handshake refuses a client without a certificate and one whose
// certificate another CA issued (a forged AdmissionReview from a pod
// never reaches the handler); a rotated CA file is followed without a
// restart.
func TestServeRequiresAClientCertificateFromItsCA(t *testing.T) {
	ca, other := newTestCA(t, "cluster CA"), newTestCA(t, "another CA")
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	writeFile(t, caFile, string(ca.PEM))
	rl := servingReloader(t, caFile)
	hs := serveHook(t, ServerConfig{Reloader: rl}, allowAll{}, 0)
	apiserver, forged := ca.client(t, "kube-apiserver"), other.client(t, "kube-apiserver")
	if ok, err := admitOver(t, hs.addr, apiserver, 5*time.Second); err != nil || !ok {
		t.Fatalf("the apiserver's certificate was refused: allowed=%v, %v", ok, err)
	}
	for name, cert := range map[string]*tls.Certificate{"no certificate": nil, "a certificate of another CA": forged} {
		if _, err := admitOver(t, hs.addr, cert, 5*time.Second); err == nil {
			t.Errorf("a client with %s was answered", name)
		}
	}
	if hs.entered.Load() != 1 {
		t.Fatalf("%d requests reached the webhook, want only the apiserver's", hs.entered.Load())
	}

	writeFile(t, caFile, string(other.PEM))
	rl.Check()
	if _, err := admitOver(t, hs.addr, apiserver, 5*time.Second); err == nil {
		t.Error("after the CA rotation, a certificate of the old CA was accepted")
	}
	if ok, err := admitOver(t, hs.addr, forged, 5*time.Second); err != nil || !ok {
		t.Fatalf("after the CA rotation, a certificate of the new CA was refused: %v", err)
	}
}

// TestServeEvictsUnauthenticatedConnectionsFirst: with client
// certificates required, connections that have not authenticated (here:
// never even start the TLS handshake) are closed to make room before any
// of the apiserver's, even when the apiserver's have been idle longer.
func TestServeEvictsUnauthenticatedConnectionsFirst(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	writeFile(t, caFile, string(ca.PEM))
	hs := serveHook(t, ServerConfig{Reloader: servingReloader(t, caFile), MaxConnections: 4, MaxConnectionsPerClient: 4, ReadTimeout: time.Minute}, allowAll{}, 0)
	apiserver := ca.client(t, "kube-apiserver")
	var idle []net.Conn
	for range 2 {
		c, err := tls.Dial("tcp", hs.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}, Certificates: []tls.Certificate{*apiserver}}) //nolint:gosec
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		body := reviewJSON(t)
		fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
		idle = append(idle, c)
	}
	raw := []net.Conn{dialFrom(t, "127.0.0.2", hs.addr), dialFrom(t, "127.0.0.2", hs.addr)}
	if ok, err := admitOver(t, hs.addr, apiserver, 5*time.Second); err != nil || !ok {
		t.Fatalf("the apiserver's admission failed: allowed=%v, %v", ok, err)
	}
	for i, c := range idle {
		if closedByServer(c) {
			t.Errorf("the apiserver's idle connection %d was closed while unauthenticated ones stayed", i)
		}
	}
	if !closedByServer(raw[0]) {
		t.Error("no unauthenticated connection was closed to make room")
	}
}
