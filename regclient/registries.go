package regclient

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/signet-dev/signet/policy"
)

// Registries says how to reach registries whose images a verifier reads
// from where it runs, as containerd's hosts.toml does for a node: a mirror
// to read a host's repositories from (the name in the workload stays the
// decision's and the pin's; only where manifests and signatures are read
// changes), a CA bundle for a registry with a private CA, and permission
// for plain HTTP. Plain HTTP is refused to every other host that is not
// this machine (loopback), so a registry at a private IP address is not
// read without TLS unless listed.
//
// Credentials follow the host that is dialed: a mirrored repository is
// read with the mirror's credentials (Endpoint), never with those of the
// name in the workload.
type Registries struct {
	hosts map[string]*Endpoint // by canonical host in references
	// dialed maps each host that is dialed (a mirror or a listed host) to
	// the TLS and plain-HTTP settings of its entry.
	dialed map[string]*Endpoint
}

// Endpoint is one entry: where references to Host are read.
type Endpoint struct {
	Host string // as references name it, canonical
	// Dial is the registry that is read: a mirror, or Host itself.
	Dial name.Registry
	// Scheme is how Dial is reached: https, or http when PlainHTTP.
	Scheme    string
	PlainHTTP bool
	// CAs, when set, verify Dial's certificate (the system's roots plus
	// the entry's bundle).
	CAs *x509.CertPool
}

// registriesFile is the file's form (enforce serve --registries).
type registriesFile struct {
	Registries []struct {
		Host      string `yaml:"host"`
		Mirror    string `yaml:"mirror"`
		CAFile    string `yaml:"caFile"`
		PlainHTTP bool   `yaml:"plainHTTP"`
	} `yaml:"registries"`
}

// LoadRegistries reads a registries file: a list of {host, mirror, caFile,
// plainHTTP}. caFile is relative to the file's directory. Without a path
// nothing is listed: TLS everywhere, plain HTTP only to loopback.
func LoadRegistries(path string) (*Registries, error) {
	if path == "" {
		return &Registries{}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := ParseRegistries(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// ParseRegistries reads a registries file's content (see LoadRegistries).
func ParseRegistries(data []byte, dir string) (*Registries, error) {
	var f registriesFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	r := &Registries{hosts: map[string]*Endpoint{}, dialed: map[string]*Endpoint{}}
	for i, e := range f.Registries {
		ep, err := endpoint(e.Host, e.Mirror, e.CAFile, e.PlainHTTP, dir)
		if err != nil {
			return nil, fmt.Errorf("registries[%d]: %w", i, err)
		}
		if r.hosts[ep.Host] != nil {
			return nil, fmt.Errorf("registries[%d]: host %s is listed twice", i, ep.Host)
		}
		dial := canonicalOr(ep.Dial.RegistryStr())
		if d := r.dialed[dial]; d != nil && (d.PlainHTTP != ep.PlainHTTP || (d.CAs == nil) != (ep.CAs == nil)) {
			return nil, fmt.Errorf("registries[%d]: %s is reached by two entries with different TLS settings", i, dial)
		}
		r.hosts[ep.Host], r.dialed[dial] = ep, ep
	}
	return r, nil
}

func endpoint(host, mirror, caFile string, plain bool, dir string) (*Endpoint, error) {
	h, err := exactHost(host)
	if err != nil {
		return nil, fmt.Errorf("host: %w", err)
	}
	ep := &Endpoint{Host: h, Scheme: "https", PlainHTTP: plain}
	dial := h
	if mirror != "" {
		u, err := url.Parse(mirror)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.User != nil || u.RawQuery != "" {
			return nil, fmt.Errorf("mirror %q: write https://host[:port] (or http:// with plainHTTP: true), without a path", mirror)
		}
		if u.Scheme == "http" && !plain {
			return nil, fmt.Errorf("mirror %s is plain HTTP: set plainHTTP: true for %s to allow it", mirror, host)
		}
		if u.Scheme == "https" && plain {
			return nil, fmt.Errorf("mirror %s is https: plainHTTP: true would read it without TLS", mirror)
		}
		if dial, err = exactHost(u.Host); err != nil {
			return nil, fmt.Errorf("mirror %s: %w", mirror, err)
		}
	}
	if plain {
		ep.Scheme = "http"
	}
	if ep.Dial, err = name.NewRegistry(dial, name.StrictValidation); err != nil {
		return nil, fmt.Errorf("%s: %w", dial, err)
	}
	if plain {
		ep.Dial, _ = name.NewRegistry(dial, name.StrictValidation, name.Insecure)
	}
	if caFile != "" {
		if plain {
			return nil, fmt.Errorf("caFile %s with plainHTTP: a CA is only used for TLS", caFile)
		}
		if ep.CAs, err = caPool(filepath.Join(dir, caFile)); err != nil {
			return nil, err
		}
	}
	return ep, nil
}

// exactHost is a registry host as references and the runtime name it:
// host[:port], canonical, no wildcard.
func exactHost(s string) (string, error) {
	p, err := ParseHostPattern(s)
	if err != nil {
		return "", err
	}
	if p.Wildcard() {
		return "", fmt.Errorf("%q: name one registry host, not a wildcard", s)
	}
	return p.Domain(), nil
}

// caPool is the system's roots plus the PEM certificates in file.
func caPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("caFile: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("caFile %s holds no PEM certificate", file)
	}
	return pool, nil
}

// WithRegistries reads registries as r says (a verifier's reads; writes
// go where their reference names): each dialed host gets its CA bundle and
// the plain-HTTP rule (Registries.Transport), and a mirrored repository is
// read from its mirror (Reader). Resolve a reader's credentials for
// Client.Dial(repo). A nil r lists nothing and changes nothing.
func WithRegistries(r *Registries) Option { return func(c *config) { c.registries = r } }

// Dial is the repository a Reader of repo reads: its mirror's, or repo.
// Credentials for a Reader are resolved for it, never for the name a
// mirror stands in for.
func (c *Client) Dial(repo name.Repository) name.Repository { return c.auth.Dial(repo) }

// Endpoint returns the entry for the registry of repo, or nil. A nil
// Registries has none.
func (r *Registries) Endpoint(repo name.Repository) *Endpoint {
	if r == nil {
		return nil
	}
	h, err := policy.CanonicalHost(repo.RegistryStr())
	if err != nil {
		return nil
	}
	return r.hosts[h]
}

// Dial returns the repository that is read for repo: the same path at the
// mirror, or repo itself (with plain HTTP when its entry allows it).
// Credentials are looked up for it, not for repo.
func (r *Registries) Dial(repo name.Repository) name.Repository {
	ep := r.Endpoint(repo)
	if ep == nil {
		return repo
	}
	return ep.Dial.Repo(repo.RepositoryStr())
}

// Rewrite returns rt sending every request for repo's registry to the
// registry Dial reads instead (the scheme follows the dialed registry);
// requests to other hosts (a token realm, blob storage) are left alone.
// Without a mirror it is rt.
func (r *Registries) Rewrite(repo name.Repository, rt http.RoundTripper) http.RoundTripper {
	ep := r.Endpoint(repo)
	if ep == nil || ep.Dial.RegistryStr() == repo.RegistryStr() {
		return rt
	}
	return &rewrite{from: repo.RegistryStr(), to: ep.Dial.RegistryStr(), scheme: ep.Scheme, inner: rt}
}

type rewrite struct {
	from, to, scheme string
	inner            http.RoundTripper
}

func (w *rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != w.from {
		return w.inner.RoundTrip(req)
	}
	out := req.Clone(req.Context())
	out.URL.Host, out.URL.Scheme, out.Host = w.to, w.scheme, ""
	return w.inner.RoundTrip(out)
}

// Transport returns base with the dialed hosts' TLS settings (a transport
// of HTTPTransport's settings and the entry's CA pool per host with a CA)
// and the plain-HTTP rule: a request over http to a host that is neither
// loopback nor listed with plainHTTP is refused (PlainHTTPError).
func (r *Registries) Transport(base http.RoundTripper) http.RoundTripper {
	t := &hostsTransport{base: base, byHost: map[string]http.RoundTripper{}}
	if r == nil {
		return t
	}
	t.plain = map[string]bool{}
	for host, ep := range r.dialed {
		t.plain[host] = ep.PlainHTTP
		if ep.CAs != nil {
			ht := HTTPTransport()
			ht.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: ep.CAs}
			t.byHost[host] = ht
		}
	}
	return t
}

type hostsTransport struct {
	base   http.RoundTripper
	byHost map[string]http.RoundTripper
	plain  map[string]bool
}

func (t *hostsTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := canonicalOr(req.URL.Host)
	if req.URL.Scheme == "http" && !t.plain[host] && !loopback(req.URL.Hostname()) {
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	if rt := t.byHost[host]; rt != nil {
		return rt.RoundTrip(req)
	}
	return t.base.RoundTrip(req)
}

// PlainHTTPError is a request without TLS to a registry that is not listed
// with plainHTTP.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("registry %s would be read over plain HTTP: only this machine (loopback) and registries listed with plainHTTP: true are (enforce --registries)", e.Host)
}

func canonicalOr(host string) string {
	if h, err := policy.CanonicalHost(host); err == nil {
		return h
	}
	return host
}

// loopback: localhost, 127.0.0.0/8, ::1: this machine (in a pod, the pod).
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
