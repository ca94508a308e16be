// Package fakecloud is Azure's side of a workload-identity registry login,
// on loopback: Azure AD's token endpoint, an ACR-like registry for every
// host name (its /oauth2/exchange, token realm and /v2/ API) and an HTTPS
// proxy that takes every registry host to it. A process given Env reaches
// the fake for any registry name, so a test sees which hosts it sends an
// Azure token to, and nothing leaves the machine: the proxy dials nothing
// but the fake, and a proxied client resolves no names.
package fakecloud

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Azure is the fake. Its counters are safe for concurrent use.
type Azure struct {
	// ADEndpoint is Azure AD's endpoint (https://127.0.0.1:port/).
	ADEndpoint string
	// ProxyURL is the proxy every registry host is reached through.
	ProxyURL string
	// CAFile trusts the fake's certificates (SSL_CERT_FILE).
	CAFile string
	dir    string
	addr   string // the fake's own host:port

	srv, proxy *httptest.Server
	ca         *x509.Certificate
	caKey      *ecdsa.PrivateKey

	mu       sync.Mutex
	certs    map[string]*tls.Certificate
	tokens   int
	byHost   map[string]*HostCount
	connects map[string]int
}

// HostCount is what one registry host received.
type HostCount struct {
	// Exchanges are POSTs of an Azure AD token to /oauth2/exchange.
	Exchanges int
	// Credentialed are requests that carried an Azure-derived secret
	// (carriesAzureSecret).
	Credentialed int
	// Requests is every request.
	Requests int
}

const tenant = "fake-tenant"

// New starts the fake, writing its CA and Azure environment file in dir.
func New(dir string) (*Azure, error) {
	a := &Azure{dir: dir, certs: map[string]*tls.Certificate{}, byHost: map[string]*HostCount{}, connects: map[string]int{}}
	if err := a.newCA(); err != nil {
		return nil, err
	}
	// Not httptest's StartTLS: it adds its own certificate, which Go then
	// serves to clients that send no server name (an address).
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.srv.Listener = tls.NewListener(a.srv.Listener, &tls.Config{GetCertificate: a.certificate, MinVersion: tls.VersionTLS12})
	a.srv.Start()
	a.addr = a.srv.Listener.Addr().String()
	a.proxy = httptest.NewServer(http.HandlerFunc(a.connect))
	a.ADEndpoint = "https://" + a.addr + "/"
	a.ProxyURL = a.proxy.URL
	return a, a.writeFiles()
}

// Close stops the servers.
func (a *Azure) Close() {
	a.proxy.Close()
	a.srv.Close()
}

// Env is the environment of a process that logs in to ACR through the
// fake: a client secret identity of Azure Stack's kind (so its AD endpoint
// is the fake's), the proxy for every other host, the fake's CA as the only
// trusted one, and an empty Docker config.
func (a *Azure) Env() []string {
	return []string{
		"AZURE_TENANT_ID=" + tenant, "AZURE_CLIENT_ID=fake-client", "AZURE_CLIENT_SECRET=fake-secret",
		"AZURE_ENVIRONMENT=AZURESTACKCLOUD", "AZURE_ENVIRONMENT_FILEPATH=" + filepath.Join(a.dir, "azure-env.json"),
		"HTTPS_PROXY=" + a.ProxyURL, "https_proxy=" + a.ProxyURL, "HTTP_PROXY=" + a.ProxyURL, "http_proxy=" + a.ProxyURL,
		"NO_PROXY=", "no_proxy=", "SSL_CERT_FILE=" + a.CAFile, "DOCKER_CONFIG=" + filepath.Join(a.dir, "docker"),
		// The other clouds' metadata servers, should anything ask them.
		"AWS_EC2_METADATA_DISABLED=true", "GCE_METADATA_HOST=" + strings.TrimPrefix(a.ProxyURL, "http://"),
	}
}

// Tokens is how many Azure AD tokens were issued.
func (a *Azure) Tokens() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens
}

// Host is what registry host (as the client named it) received.
func (a *Azure) Host(host string) HostCount {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.byHost[host]; c != nil {
		return *c
	}
	return HostCount{}
}

// Connects is how often the proxy was asked for host:port (any request
// through it, CONNECT or not: a plain one is refused).
func (a *Azure) Connects(hostport string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.connects[hostport]
}

// serve answers Azure AD on the fake's own address and a registry on every
// other host.
func (a *Azure) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.Host == a.addr {
		a.ad(w, r)
		return
	}
	host := r.Host
	a.mu.Lock()
	c := a.byHost[host]
	if c == nil {
		c = &HostCount{}
		a.byHost[host] = c
	}
	c.Requests++
	if carriesAzureSecret(r) {
		c.Credentialed++
	}
	if r.URL.Path == "/oauth2/exchange" && r.Form.Get("access_token") != "" {
		c.Exchanges++
	}
	a.mu.Unlock()
	switch {
	case r.URL.Path == "/oauth2/exchange":
		writeJSON(w, map[string]string{"refresh_token": "acr-refresh-for-" + host})
	case r.URL.Path == "/oauth2/token" && carriesAzureSecret(r):
		writeJSON(w, map[string]string{"access_token": "acr-access", "token": "acr-access"})
	case r.URL.Path == "/oauth2/token":
		writeJSON(w, map[string]string{"access_token": "anonymous", "token": "anonymous"})
	case r.URL.Path == "/v2/" && r.Header.Get("Authorization") == "":
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://%s/oauth2/token",service="%s"`, host, host))
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
	case r.URL.Path == "/v2/":
		writeJSON(w, map[string]string{})
	default:
		w.Header().Set("Content-Type", "application/json")
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"fakecloud serves no images"}]}`, http.StatusNotFound)
	}
}

// carriesAzureSecret reports a request that carries something only an
// Azure identity has: the AD token, the ACR refresh token exchanged for it,
// or the access token issued for that (anonymous tokens do not count).
func carriesAzureSecret(r *http.Request) bool {
	secret := func(v string) bool {
		return strings.Contains(v, "aad-token") || strings.Contains(v, "acr-refresh-for-") || strings.Contains(v, "acr-access")
	}
	if secret(r.Header.Get("Authorization")) {
		return true
	}
	if u, p, ok := r.BasicAuth(); ok && (secret(u) || secret(p)) {
		return true
	}
	for _, vs := range r.Form {
		for _, v := range vs {
			if secret(v) {
				return true
			}
		}
	}
	return false
}

// ad issues a token for any client credentials POSTed to the tenant's
// token endpoint.
func (a *Azure) ad(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		http.NotFound(w, r)
		return
	}
	a.mu.Lock()
	a.tokens++
	a.mu.Unlock()
	now := time.Now().Unix()
	writeJSON(w, map[string]string{"access_token": "aad-token", "token_type": "Bearer", "expires_in": "3600",
		"expires_on": fmt.Sprint(now + 3600), "not_before": fmt.Sprint(now), "resource": r.Form.Get("resource")})
}

// connect tunnels a CONNECT to the fake, whatever host it names.
func (a *Azure) connect(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.connects[r.Host]++
	a.mu.Unlock()
	if r.Method != http.MethodConnect {
		http.Error(w, "fakecloud proxies CONNECT only", http.StatusBadRequest)
		return
	}
	up, err := net.Dial("tcp", a.addr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		_, _ = io.Copy(up, buf)
		up.Close()
	}()
	_, _ = io.Copy(conn, up)
	conn.Close()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// certificate issues, once per name, a certificate for the name the client
// asked for (127.0.0.1 when it named an address).
func (a *Azure) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := hello.ServerName
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.certs[name]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	if name == "" {
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	} else {
		tmpl.DNSNames = []string{name}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.ca, &key.PublicKey, a.caKey)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	a.certs[name] = c
	return c, nil
}

func (a *Azure) newCA() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fakecloud CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	a.caKey = key
	if a.ca, err = x509.ParseCertificate(der); err != nil {
		return err
	}
	a.CAFile = filepath.Join(a.dir, "fakecloud-ca.pem")
	return os.WriteFile(a.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

// writeFiles writes the Azure Stack environment naming the fake's AD, and
// an empty Docker config directory.
func (a *Azure) writeFiles() error {
	env, _ := json.Marshal(map[string]string{"name": "AzureStackCloud", "activeDirectoryEndpoint": a.ADEndpoint,
		"resourceManagerEndpoint": "https://management.fakecloud.invalid/", "tokenAudience": "https://management.fakecloud.invalid/"})
	if err := os.WriteFile(filepath.Join(a.dir, "azure-env.json"), env, 0o600); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(a.dir, "docker"), 0o700)
}
