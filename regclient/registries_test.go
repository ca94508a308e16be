package regclient

import (
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
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

// TestMirrorRewritesOnlyItsHost: a mirrored repository is read at the same
// path on the mirror (credentials are resolved for that repository), every
// request for the mirrored host goes to the mirror with the mirror's
// scheme, and requests to other hosts (a token realm, blob storage) are left
// alone. verify's TestMirroredImageIsDecidedByItsOwnName reads an image
// through it with credentials.
func TestMirrorRewritesOnlyItsHost(t *testing.T) {
	r, err := ParseRegistries([]byte("registries: [{host: docker.io, mirror: 'http://10.1.2.3:5000', plainHTTP: true}]"), "")
	if err != nil {
		t.Fatal(err)
	}
	repo := mustRepo(t, "nginx")
	if got := r.Dial(repo).String(); got != "10.1.2.3:5000/library/nginx" {
		t.Errorf("docker.io/library/nginx is read at %s", got)
	}
	if other := mustRepo(t, "ghcr.io/acme/app"); r.Dial(other) != other {
		t.Errorf("an unlisted registry is read at %s", r.Dial(other))
	}
	var got []string
	rt := r.Rewrite(repo, roundTripFunc(func(req *http.Request) (*http.Response, error) {
		got = append(got, req.URL.String())
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
	}))
	for _, u := range []string{"https://index.docker.io/v2/library/nginx/manifests/1", "https://auth.docker.io/token?scope=x"} {
		rt.RoundTrip(mustGet(t, u))
	}
	want := []string{"http://10.1.2.3:5000/v2/library/nginx/manifests/1", "https://auth.docker.io/token?scope=x"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("sent %v, want %v", got, want)
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

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
