package faultregistry

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// Sizes and counts of the hostile cases.
const (
	HugeSize  = 100 << 20 // a huge manifest or blob: 100 MiB
	Many      = 10000     // referrers, or platforms of a wide index
	DripEvery = 200 * time.Millisecond
)

const (
	ociIndex    = "application/vnd.oci.image.index.v1+json"
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	bundleType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	cosignSign  = "https://sigstore.dev/cosign/sign/v1"
)

// misbehave answers r as f says; false lets the request through.
func (p *Proxy) misbehave(f Fault, w http.ResponseWriter, r *http.Request) bool {
	switch f.Kind {
	case Hang:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		// Never answer, not even the empty 200 net/http would write for
		// a handler that returns: a client whose close raced its read
		// would take that for the registry's answer.
		panic(http.ErrAbortHandler)
	case Status:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"faultregistry: %d storm"}]}`, f.Status)
	case RedirectLoop:
		hop, _ := strconv.Atoi(r.URL.Query().Get("hop"))
		http.Redirect(w, r, fmt.Sprintf("%s?hop=%d", r.URL.Path, hop+1), http.StatusFound)
	case Drip:
		p.drip(w, r)
	case ResetMidBody:
		return p.reset(w, r)
	case HugeManifest:
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
			return false
		}
		w.Header().Set("Content-Type", ociManifest)
		w.Header().Set("Content-Length", strconv.Itoa(HugeSize))
		io.CopyN(w, spaces{}, HugeSize) //nolint:errcheck // the client is expected to hang up
	case HugeBlob:
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		io.CopyN(w, spaces{}, HugeSize) //nolint:errcheck // no Content-Length: chunked, cut by the client
	case ManyReferrers:
		return p.referrers(w, r)
	case WideIndex:
		return p.wideIndex(w, r)
	default:
		return false
	}
	return true
}

// record is the upstream's answer to r, fully read.
func (p *Proxy) record(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	p.upstream.ServeHTTP(rec, r)
	return rec
}

func copyHeader(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(rec.Body.Len()))
}

// drip sends the upstream's headers at once and its body one byte at a time.
func (p *Proxy) drip(w http.ResponseWriter, r *http.Request) {
	rec := p.record(r)
	copyHeader(w, rec)
	w.WriteHeader(rec.Code)
	fl, _ := w.(http.Flusher)
	for _, b := range rec.Body.Bytes() {
		if _, err := w.Write([]byte{b}); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-time.After(DripEvery):
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
	}
}

// reset sends half of a body the upstream has, then resets the connection.
func (p *Proxy) reset(w http.ResponseWriter, r *http.Request) bool {
	rec := p.record(r)
	body := rec.Body.Bytes()
	if r.Method != http.MethodGet || len(body) < 2 {
		return false
	}
	copyHeader(w, rec)
	w.WriteHeader(rec.Code)
	w.Write(body[:len(body)/2]) //nolint:errcheck // the connection is reset next
	w.(http.Flusher).Flush()
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return true
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if tcp, ok := raw.(*net.TCPConn); ok {
		tcp.SetLinger(0) //nolint:errcheck // RST instead of FIN
	}
	conn.Close()
	return true
}

// referrers answers any referrers listing (the API, or the sha256-<hex>
// fallback tag) with Many bundle look-alikes; fetching one is counted.
func (p *Proxy) referrers(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case strings.Contains(r.URL.Path, "/referrers/"), isFallbackTag(r.URL.Path):
		var descs []map[string]any
		for i := range Many {
			descs = append(descs, map[string]any{
				"mediaType": ociManifest, "digest": syntheticDigest("referrer", i), "size": 600, "artifactType": bundleType,
				"annotations": map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": cosignSign},
			})
		}
		serveJSON(w, r, ociIndex, map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": descs})
		return true
	case isSynthetic(r.URL.Path):
		p.synthetic.Add(1)
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
		return true
	}
	return false
}

// wideIndex answers any tag of the repository with one index of Many
// platform manifests; fetching a child is counted.
func (p *Proxy) wideIndex(w http.ResponseWriter, r *http.Request) bool {
	if !strings.Contains(r.URL.Path, "/manifests/") {
		return false
	}
	ref := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	index := WideIndexManifest()
	switch {
	case isSynthetic(r.URL.Path):
		p.synthetic.Add(1)
		http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
	case !strings.HasPrefix(ref, "sha256"), ref == WideIndexDigest():
		w.Header().Set("Docker-Content-Digest", WideIndexDigest())
		serveBytes(w, r, ociIndex, index)
	default:
		return false // signatures of the index and the like: the real registry
	}
	return true
}

// WideIndexManifest is the index WideIndex serves; WideIndexDigest its digest.
func WideIndexManifest() []byte {
	var descs []map[string]any
	for i := range Many {
		descs = append(descs, map[string]any{"mediaType": ociManifest, "digest": syntheticDigest("platform", i), "size": 500,
			"platform": map[string]string{"os": "linux", "architecture": "amd64", "variant": fmt.Sprintf("v%d", i)}})
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociIndex, "manifests": descs})
	return b
}

// WideIndexDigest is the digest of WideIndexManifest.
func WideIndexDigest() string {
	sum := sha256.Sum256(WideIndexManifest())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// syntheticDigest is a digest no real content has: sha256 of a marker.
func syntheticDigest(kind string, i int) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("faultregistry %s %d", kind, i)))
	return "sha256:" + hex.EncodeToString(sum[:])
}

var syntheticSet = func() map[string]bool {
	m := map[string]bool{}
	for i := range Many {
		m[syntheticDigest("referrer", i)] = true
		m[syntheticDigest("platform", i)] = true
	}
	return m
}()

func isSynthetic(path string) bool {
	return syntheticSet[path[strings.LastIndex(path, "/")+1:]]
}

func isFallbackTag(path string) bool {
	ref := path[strings.LastIndex(path, "/")+1:]
	return strings.Contains(path, "/manifests/") && strings.HasPrefix(ref, "sha256-") && !strings.Contains(ref, ".")
}

func serveJSON(w http.ResponseWriter, r *http.Request, mediaType string, v any) {
	b, _ := json.Marshal(v)
	serveBytes(w, r, mediaType, b)
}

func serveBytes(w http.ResponseWriter, r *http.Request, mediaType string, b []byte) {
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client may hang up
	}
}

// spaces is an endless reader of spaces: a huge body costs the proxy no memory.
type spaces struct{}

func (spaces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func pemCert(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}
