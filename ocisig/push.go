package ocisig

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Writer writes one run's attachments to one repository over one
// authenticated transport (a go-containerregistry transport.Wrapper, so no
// call pings or exchanges a token again). It sends the fewest requests the
// distribution API allows: a blob is one POST that mounts it when the
// repository already holds it, else that POST and one PUT of the whole
// blob (go-containerregistry's WriteLayer sends HEAD, POST, PATCH and PUT);
// a blob uploaded once in the run is not uploaded again; a manifest is one
// PUT. Reads go through go-containerregistry over the same transport.
type Writer struct {
	repo   name.Repository
	client *http.Client
	opts   []remote.Option

	mu    sync.Mutex
	blobs map[v1.Hash]bool // uploaded (or mounted) in this run
}

// NewWriter returns a Writer for repo over rt, which must already
// authenticate to repo's registry for push and pull (transport.NewWithContext).
func NewWriter(repo name.Repository, rt http.RoundTripper, opts ...remote.Option) *Writer {
	return &Writer{repo: repo, client: &http.Client{Transport: rt},
		opts: append([]remote.Option{remote.WithTransport(rt)}, opts...), blobs: map[v1.Hash]bool{}}
}

// readOpts are the go-containerregistry options of the Writer's reads.
func (w *Writer) readOpts(ctx context.Context) []remote.Option {
	return append(w.opts[:len(w.opts):len(w.opts)], remote.WithContext(ctx))
}

// Blob uploads data as a blob of media type mt and returns its descriptor.
func (w *Writer) Blob(ctx context.Context, data []byte, mt types.MediaType) (v1.Descriptor, error) {
	h, size, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		return v1.Descriptor{}, err
	}
	desc := v1.Descriptor{MediaType: mt, Digest: h, Size: size}
	w.mu.Lock()
	done := w.blobs[h]
	w.mu.Unlock()
	if done {
		return desc, nil
	}
	if err := w.upload(ctx, h, data); err != nil {
		return v1.Descriptor{}, fmt.Errorf("uploading blob %s to %s: %w", h, w.repo, err)
	}
	w.mu.Lock()
	w.blobs[h] = true
	w.mu.Unlock()
	return desc, nil
}

// upload is POST /blobs/uploads/?mount=h&from=repo: 201 when the
// repository already holds h, else 202 and a Location the whole blob is
// PUT to.
func (w *Writer) upload(ctx context.Context, h v1.Hash, data []byte) error {
	u := w.url("/v2/" + w.repo.RepositoryStr() + "/blobs/uploads/")
	u.RawQuery = url.Values{"mount": {h.String()}, "from": {w.repo.RepositoryStr()}}.Encode()
	resp, err := w.do(ctx, http.MethodPost, u.String(), nil, "", http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	loc, err := w.location(resp)
	if err != nil {
		return err
	}
	q := loc.Query()
	q.Set("digest", h.String())
	loc.RawQuery = q.Encode()
	_, err = w.do(ctx, http.MethodPut, loc.String(), data, "application/octet-stream", http.StatusCreated)
	return err
}

// location is the upload URL a 202 names. Registries may hand uploads
// to another host (credentials only ever go to the registry's own: the
// authenticating transports match the host); like go-containerregistry,
// a Location on another host that is a private, loopback or link-local
// address is refused, so a registry cannot aim the upload at an internal
// service.
func (w *Writer) location(resp *http.Response) (*url.URL, error) {
	raw := resp.Header.Get("Location")
	if raw == "" {
		return nil, fmt.Errorf("the registry started an upload without a Location")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("upload Location %q: %w", raw, err)
	}
	u = resp.Request.URL.ResolveReference(u)
	if u.Host != resp.Request.URL.Host {
		if ip := net.ParseIP(u.Hostname()); ip != nil && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
			return nil, fmt.Errorf("upload Location %q points at the internal address %s, not the registry %s", raw, ip, resp.Request.URL.Host)
		}
	}
	return u, nil
}

// Manifest PUTs raw (of media type mt) as ref: a tag or a digest.
func (w *Writer) Manifest(ctx context.Context, ref string, raw []byte, mt types.MediaType) error {
	u := w.url("/v2/" + w.repo.RepositoryStr() + "/manifests/" + ref)
	if _, err := w.do(ctx, http.MethodPut, u.String(), raw, string(mt), http.StatusOK, http.StatusCreated, http.StatusAccepted); err != nil {
		return fmt.Errorf("uploading manifest %s:%s: %w", w.repo, ref, err)
	}
	return nil
}

func (w *Writer) url(path string) *url.URL {
	return &url.URL{Scheme: w.repo.Scheme(), Host: w.repo.RegistryStr(), Path: path}
}

// do sends one request with body (replayable, for retries and a token
// refresh) and checks its status against want, closing the body.
func (w *Writer) do(ctx context.Context, method, u string, body []byte, contentType string, want ...int) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, want...); err != nil {
		return nil, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining for reuse
	return resp, nil
}
