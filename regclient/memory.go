package regclient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// memory is a signing run's memory of its registry, between the authentication
// and the network: it lets the post-check evaluate what the run just wrote
// and read back without downloading it again, and answers nothing it cannot
// answer exactly as the registry would now. It serves, to GET and HEAD:
//
//   - content by digest (a manifest or blob whose URL names its sha256
//     digest) that the registry accepted from this run (a 2xx to its PUT)
//     or served to it: content-addressed, so the registry holds these exact
//     bytes, and go-containerregistry verifies the digest of what it reads
//     from here as it does from the network;
//   - a listing (a manifest by tag: the .sig, .att and referrers fallback
//     tags; a referrers list) read after the run's last write that could
//     change it: what a fresh read returns too, unless another client
//     writes in between, which it can as well the moment after a fresh
//     read. A PUT to a tag forgets that tag; a manifest with a subject, or
//     any DELETE, forgets the repository's referrers lists;
//   - the registry's 404 to a referrers list: the endpoint is missing, a
//     property of the registry, not of what it holds.
//
// Everything else (pings, tokens, uploads, other clients' entries) goes to
// the registry.
type memory struct {
	base http.RoundTripper

	mu       sync.Mutex
	content  map[string]*stored // host/path of content by digest
	listings map[string]*stored // host/path?query of a tag or referrers list
}

// stored is a response kept in memory.
type stored struct {
	status int
	header http.Header
	body   []byte
}

// memoryMax bounds what is kept per response: signatures, bundles and
// manifests are small; an image's layers are never read by a run.
const memoryMax = 4 << 20

func newMemory(base http.RoundTripper) *memory {
	return &memory{base: base, content: map[string]*stored{}, listings: map[string]*stored{}}
}

// resource is what a registry URL names.
type resource struct {
	repo, kind, ref string // kind: manifests, blobs, referrers, uploads
}

func parse(r *http.Request) (resource, bool) {
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	if p == r.URL.Path {
		return resource{}, false
	}
	for _, k := range []string{"/blobs/uploads/", "/manifests/", "/blobs/", "/referrers/"} {
		if i := strings.LastIndex(p, k); i > 0 {
			kind := strings.Trim(k, "/")
			if k == "/blobs/uploads/" {
				kind = "uploads"
			}
			return resource{repo: r.URL.Host + "/" + p[:i], kind: kind, ref: p[i+len(k):]}, true
		}
	}
	return resource{}, false
}

func (res resource) byDigest() bool { return strings.HasPrefix(res.ref, "sha256:") }

func (res resource) key() string { return res.repo + "/" + res.kind + "/" + res.ref }

func (m *memory) RoundTrip(req *http.Request) (*http.Response, error) {
	res, ok := parse(req)
	if !ok {
		return m.base.RoundTrip(req)
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return m.read(req, res)
	case http.MethodPut:
		return m.put(req, res)
	case http.MethodDelete:
		m.forgetDeleted(res)
	}
	return m.base.RoundTrip(req)
}

func (m *memory) listingKey(req *http.Request, res resource) string {
	return res.key() + "?" + req.URL.RawQuery
}

func (m *memory) read(req *http.Request, res resource) (*http.Response, error) {
	content := res.kind == "blobs" || res.kind == "manifests" && res.byDigest()
	listing := res.kind == "referrers" || res.kind == "manifests" && !res.byDigest()
	m.mu.Lock()
	var s *stored
	switch {
	case content:
		s = m.content[res.key()]
	case listing:
		s = m.listings[m.listingKey(req, res)]
	}
	m.mu.Unlock()
	if s != nil {
		return s.response(req), nil
	}
	resp, err := m.base.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || !content && !listing {
		return resp, err
	}
	keep := resp.StatusCode == http.StatusOK || listing && resp.StatusCode == http.StatusNotFound
	if !keep || resp.ContentLength > memoryMax {
		return resp, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, memoryMax+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if len(body) > memoryMax { // too large to keep: hand it on whole
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	s = &stored{status: resp.StatusCode, header: resp.Header.Clone(), body: body}
	if !content || digestOf(body) == res.ref {
		m.mu.Lock()
		if content {
			m.content[res.key()] = s
		} else {
			m.listings[m.listingKey(req, res)] = s
		}
		m.mu.Unlock()
	}
	return s.response(req), nil
}

// put forwards a PUT and remembers what the registry accepted: a manifest
// under its digest, a blob under the digest its upload was committed with.
func (m *memory) put(req *http.Request, res resource) (*http.Response, error) {
	var body []byte
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			body, _ = io.ReadAll(io.LimitReader(rc, memoryMax+1))
			rc.Close()
		}
	}
	if res.kind == "manifests" {
		// Whatever the answer, this tag's listing (and, for a referrer,
		// the referrers lists) may have changed.
		m.mu.Lock()
		delete(m.listings, m.listingKey(req, res))
		m.mu.Unlock()
		var probe struct {
			Subject json.RawMessage `json:"subject"`
		}
		if json.Unmarshal(body, &probe) != nil || probe.Subject != nil {
			m.forgetReferrers(res.repo, false)
		}
	}
	resp, err := m.base.RoundTrip(req)
	if err != nil || resp.StatusCode/100 != 2 || body == nil || len(body) > memoryMax {
		return resp, err
	}
	dg := digestOf(body)
	var key string
	switch res.kind {
	case "manifests":
		key = resource{repo: res.repo, kind: "manifests", ref: dg}.key()
	case "uploads":
		if req.URL.Query().Get("digest") != dg {
			return resp, nil
		}
		key = resource{repo: res.repo, kind: "blobs", ref: dg}.key()
	default:
		return resp, nil
	}
	h := http.Header{"Docker-Content-Digest": {dg}}
	if ct := req.Header.Get("Content-Type"); ct != "" && res.kind == "manifests" {
		h.Set("Content-Type", ct)
	}
	m.mu.Lock()
	m.content[key] = &stored{status: http.StatusOK, header: h, body: body}
	m.mu.Unlock()
	return resp, nil
}

// forgetReferrers drops repo's referrers lists (a 404, the endpoint
// missing, stays) and, with tags, its tag listings too.
func (m *memory) forgetReferrers(repo string, tags bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.listings {
		if strings.HasPrefix(k, repo+"/referrers/") && s.status == http.StatusOK || tags && strings.HasPrefix(k, repo+"/manifests/") {
			delete(m.listings, k)
		}
	}
}

// forgetDeleted drops what a DELETE may change: the content itself, the
// referrers lists and, since a registry may untag what it deletes, the
// repository's tag listings.
func (m *memory) forgetDeleted(res resource) {
	m.forgetReferrers(res.repo, true)
	m.mu.Lock()
	delete(m.content, res.key())
	m.mu.Unlock()
}

func (s *stored) response(req *http.Request) *http.Response {
	h := s.header.Clone()
	h.Set("Content-Length", strconv.Itoa(len(s.body)))
	body := s.body
	if req.Method == http.MethodHead {
		body = nil
	}
	return &http.Response{Status: strconv.Itoa(s.status) + " " + http.StatusText(s.status), StatusCode: s.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(s.body)), Request: req}
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
