package regclient

import (
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRegistriesFileRefusesMistakes: each entry says what it means or the
// file is refused, naming the entry and the fix: plain HTTP only when
// plainHTTP says so, no wildcard hosts, no paths, a CA that is PEM.
func TestRegistriesFileRefusesMistakes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "junk.crt"), []byte("not a certificate"), 0o644)
	for _, tc := range []struct{ name, file, want string }{
		{"an http mirror without plainHTTP", "registries: [{host: localhost:32000, mirror: 'http://10.0.0.5:5000'}]", "set plainHTTP: true for localhost:32000"},
		{"plainHTTP with an https mirror", "registries: [{host: docker.io, mirror: 'https://m.example', plainHTTP: true}]", "without TLS"},
		{"a mirror with a path", "registries: [{host: docker.io, mirror: 'https://m.example/v2/docker'}]", "without a path"},
		{"a mirror with credentials in the URL", "registries: [{host: docker.io, mirror: 'https://u:p@m.example'}]", "without a path"},
		{"a wildcard host", "registries: [{host: '*.corp.example', caFile: junk.crt}]", "not a wildcard"},
		{"a host with a scheme", "registries: [{host: 'https://harbor.example'}]", "without scheme"},
		{"a host listed twice", "registries: [{host: harbor.example}, {host: HARBOR.example.}]", "listed twice"},
		{"a CA that is not PEM", "registries: [{host: harbor.example, caFile: junk.crt}]", "holds no PEM certificate"},
		{"a CA that is missing", "registries: [{host: harbor.example, caFile: nope.crt}]", "nope.crt"},
		{"a CA for plain HTTP", "registries: [{host: harbor.example, caFile: junk.crt, plainHTTP: true}]", "only used for TLS"},
		{"a misspelt field", "registries: [{host: harbor.example, mirrors: ['https://m.example']}]", "mirrors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRegistries([]byte(tc.file), dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want an error saying %q", tc.file, err, tc.want)
			}
		})
	}
	if _, err := ParseRegistries(nil, dir); err != nil {
		t.Errorf("an empty file: %v", err)
	}
}

// TestPlainHTTPOnlyWhereAllowed: a request without TLS goes only to this
// machine or to a host listed with plainHTTP; to any other host (a private
// IP address included, which go-containerregistry would fall back to HTTP
// for) it is refused before anything is sent.
func TestPlainHTTPOnlyWhereAllowed(t *testing.T) {
	r, err := ParseRegistries([]byte("registries: [{host: 'localhost:32000', mirror: 'http://10.152.183.20:5000', plainHTTP: true}, {host: '10.0.0.9:5000', plainHTTP: true}]"), "")
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	rt := r.Transport(roundTripFunc(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.URL.String())
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}))
	for url, allowed := range map[string]bool{
		"http://127.0.0.1:5000/v2/":       true,
		"http://localhost:5000/v2/":       true,
		"http://10.152.183.20:5000/v2/":   true, // the listed mirror
		"http://10.0.0.9:5000/v2/":        true, // listed with plainHTTP
		"http://10.0.0.10:5000/v2/":       false,
		"http://registry.corp.example/v2": false,
		"https://10.0.0.10:5000/v2/":      true,
	} {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		_, err := rt.RoundTrip(req)
		var pe *PlainHTTPError
		if allowed != (err == nil) || !allowed && !errors.As(err, &pe) {
			t.Errorf("%s: %v (allowed: %v)", url, err, allowed)
		}
	}
	if len(sent) != 5 {
		t.Errorf("sent %v, want only the allowed requests", sent)
	}
	if _, err := (&Registries{}).Transport(http.DefaultTransport).RoundTrip(mustGet(t, "http://10.0.0.10:5000/v2/")); err == nil {
		t.Error("with nothing listed, plain HTTP to a private address was sent")
	}
}

// TestMirrorIsReadWithItsOwnCredentials: an image named by a host that
// does not resolve is read from its mirror, at the same repository path,
// and the credentials sent there are the mirror's: those for the name in
// the reference never leave.
func TestMirrorIsReadWithItsOwnCredentials(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		mu.Lock()
		seen = append(seen, u+":"+p)
		mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="mirror"`)
			http.Error(w, "credentials", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	mirror := strings.TrimPrefix(srv.URL, "http://")
	img, _ := random.Image(64, 1)
	ref, _ := name.ParseReference(mirror + "/apps/app:v1")
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "mirror", Password: "mirror-secret"})); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()

	r, err := ParseRegistries([]byte("registries: [{host: upstream.signet.test, mirror: 'http://"+mirror+"', plainHTTP: true}]"), "")
	if err != nil {
		t.Fatal(err)
	}
	keychain := staticKeychain{"upstream.signet.test": {Username: "upstream", Password: "upstream-secret"}, mirror: {Username: "mirror", Password: "mirror-secret"}}
	a := NewAuth(New(nil, Options{Registries: r})).WithRegistries(r)
	spec := mustRepo(t, "upstream.signet.test/apps/app")
	auth, err := keychain.Resolve(a.Dial(spec))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := a.Transport(t.Context(), spec, auth)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	seen = nil
	mu.Unlock()
	desc, err := remote.Head(spec.Tag("v1"), remote.WithTransport(rt), remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("reading upstream.signet.test/apps/app:v1 through its mirror: %v", err)
	}
	if desc.Digest != want {
		t.Errorf("read %s, the mirror holds %s", desc.Digest, want)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if s != "mirror:mirror-secret" {
			t.Errorf("the mirror received credentials %q, want only its own", s)
		}
	}
	if len(seen) == 0 {
		t.Error("nothing reached the mirror")
	}
}

// TestCABundleOnlyForItsHost: a registry with a private CA is read over
// TLS with the listed bundle; the bundle is not trusted for any other host,
// and without it the certificate is refused.
func TestCABundleOnlyForItsHost(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	a, b := httptest.NewTLSServer(ok), httptest.NewTLSServer(ok) // both serve httptest's own certificate
	defer a.Close()
	defer b.Close()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw}), 0o644)
	hostA, hostB := strings.TrimPrefix(a.URL, "https://"), strings.TrimPrefix(b.URL, "https://")
	r, err := ParseRegistries([]byte("registries: [{host: '"+hostA+"', caFile: ca.crt}]"), dir)
	if err != nil {
		t.Fatal(err)
	}
	rt := r.Transport(HTTPTransport())
	if _, err := rt.RoundTrip(mustGet(t, a.URL+"/v2/")); err != nil {
		t.Errorf("%s with its CA bundle: %v", hostA, err)
	}
	if _, err := rt.RoundTrip(mustGet(t, b.URL+"/v2/")); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("%s (not listed) was trusted with %s's bundle: %v", hostB, hostA, err)
	}
	if _, err := (&Registries{}).Transport(HTTPTransport()).RoundTrip(mustGet(t, a.URL+"/v2/")); err == nil {
		t.Error("a private CA was trusted without its bundle")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// staticKeychain has credentials per registry host.
type staticKeychain map[string]authn.AuthConfig

func (k staticKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if c, ok := k[r.RegistryStr()]; ok {
		return authn.FromConfig(c), nil
	}
	return authn.Anonymous, nil
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
