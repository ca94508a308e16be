// Package faultregistry is a registry that misbehaves on purpose: an HTTPS
// reverse proxy in front of a real registry (test/stack's distribution)
// that, once told to, hangs, drips, answers 500/503/429 until healed,
// resets connections mid-body, loops redirects, stalls the TLS handshake,
// or serves hostile content (a huge manifest, huge blobs, 10,000 referrers,
// an index of 10,000 platforms). End-to-end tests put `sign verify` and the
// webhook in front of it and check that each fault ends in a denial that
// names it, in time and in bounded memory.
//
// Writes go to the real registry directly (its own host); reads name the
// proxy's host, so the same images are served well or badly as the test
// switches faults with Set.
package faultregistry

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Kind is one way of misbehaving.
type Kind string

const (
	Pass          Kind = ""              // forward to the registry
	Hang          Kind = "hang"          // accept the request, never answer
	Drip          Kind = "drip"          // answer, then send the body a byte every DripEvery
	Status        Kind = "status"        // answer Fault.Status (500, 503, 429...) until healed
	ResetMidBody  Kind = "reset"         // send half the body, then reset the connection
	RedirectLoop  Kind = "redirect-loop" // redirect every request to itself, forever
	TLSStall      Kind = "tls-stall"     // accept connections, never finish the TLS handshake
	HugeManifest  Kind = "huge-manifest" // every manifest GET: HugeSize bytes, Content-Length set
	HugeBlob      Kind = "huge-blob"     // every blob GET: HugeSize bytes, no Content-Length
	ManyReferrers Kind = "referrers"     // the referrers of any digest: 10,000 bundle look-alikes
	WideIndex     Kind = "wide-index"    // any tag: an OCI index of 10,000 platform manifests
)

// Fault is what the proxy does to requests. Repo, if set, limits it to one
// repository (TLSStall always applies to the whole proxy).
type Fault struct {
	Kind   Kind
	Repo   string
	Status int
}

// Proxy is a running fault-injecting registry front.
type Proxy struct {
	URL  string // https://127.0.0.1:port
	Host string // 127.0.0.1:port, the prefix for image references
	// CAFile is a PEM bundle (system roots plus the proxy's CA) for
	// SSL_CERT_FILE; Pool trusts the proxy alone.
	CAFile string
	Pool   *x509.CertPool

	srv      *httptest.Server
	upstream *httputil.ReverseProxy
	done     chan struct{}

	mu    sync.Mutex
	fault Fault
	held  []net.Conn

	requests, faulted, synthetic atomic.Int64
}

// Start runs a proxy in front of upstream ("http://127.0.0.1:port") until
// the test ends.
func Start(t testing.TB, upstream string) *Proxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{upstream: httputil.NewSingleHostReverseProxy(u), done: make(chan struct{})}
	p.upstream.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up on a fault are expected
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // clients probing plain HTTP first are normal
	inner := p.srv.Listener
	p.srv.Listener = &stallListener{Listener: inner, p: p}
	p.srv.StartTLS()
	p.URL, p.Host = p.srv.URL, strings.TrimPrefix(p.srv.URL, "https://")
	p.Pool = x509.NewCertPool()
	p.Pool.AddCert(p.srv.Certificate())
	p.CAFile = filepath.Join(t.TempDir(), "faultregistry-ca.pem")
	if err := writeBundle(p.CAFile, p.srv.Certificate()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Close releases hung requests and held connections, then stops the proxy.
func (p *Proxy) Close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.Set(Fault{})
	p.srv.Close()
}

// Set switches the fault (Fault{} heals) and resets the per-fault counters.
// Switching to TLSStall also closes the connections clients already have,
// so their next request needs a new handshake.
func (p *Proxy) Set(f Fault) {
	p.mu.Lock()
	p.fault = f
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, c := range held {
		c.Close()
	}
	if f.Kind == TLSStall {
		p.srv.CloseClientConnections()
	}
	p.faulted.Store(0)
	p.synthetic.Store(0)
}

// Requests is every request the proxy received; Faulted those the current
// fault answered; Synthetic the requests for content the proxy invented
// (a referrer or a platform child): what a client fetched instead of
// refusing the listing.
func (p *Proxy) Requests() int64  { return p.requests.Load() }
func (p *Proxy) Faulted() int64   { return p.faulted.Load() }
func (p *Proxy) Synthetic() int64 { return p.synthetic.Load() }

// Client is an HTTP client that trusts the proxy.
func (p *Proxy) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Pool, MinVersion: tls.VersionTLS12}}}
}

func (p *Proxy) current() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	f := p.current()
	if f.Kind == Pass || f.Kind == TLSStall || f.Repo != "" && !strings.HasPrefix(r.URL.Path, "/v2/"+f.Repo+"/") {
		p.upstream.ServeHTTP(w, r)
		return
	}
	if handled := p.misbehave(f, w, r); handled {
		p.faulted.Add(1)
		return
	}
	p.upstream.ServeHTTP(w, r)
}

// stallListener holds connections without handing them to the TLS server
// while the fault is TLSStall: the client's handshake never gets an answer.
type stallListener struct {
	net.Listener
	p *Proxy
}

func (l *stallListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.p.mu.Lock()
		stall := l.p.fault.Kind == TLSStall
		if stall {
			l.p.held = append(l.p.held, c)
		}
		l.p.mu.Unlock()
		if !stall {
			return c, nil
		}
		l.p.faulted.Add(1)
	}
}

func writeBundle(path string, cert *x509.Certificate) error {
	var b []byte
	for _, f := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"} {
		if sys, err := os.ReadFile(f); err == nil {
			b = append(b, sys...)
			break
		}
	}
	b = append(b, pemCert(cert)...)
	return os.WriteFile(path, b, 0o644)
}
