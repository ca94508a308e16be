package sign

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"

	"github.com/go-openapi/runtime"
	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	rekortiles "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekorgen "github.com/sigstore/rekor/pkg/generated/client"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// newRekor returns the upload client of one transparency log. Both API
// versions go through the session's RetryTransport, so every request is
// bounded, retried and logged like Fulcio's and the TSA's (rekor's own
// client would use go-retryablehttp, whose logger prints [DEBUG] lines and
// has no per-attempt timeout; rekor-tiles' writer does not retry at all).
func newRekor(r Rekor, cfg Config) (sgsign.Transparency, error) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("Rekor URL %q is not a URL", r.URL)
	}
	hc := &http.Client{Transport: cfg.transport("Rekor " + u.Host)}
	opts := &sgsign.RekorOptions{BaseURL: r.URL, Version: r.Version}
	switch r.Version {
	case 0, 1:
		opts.Version = 1
		opts.Client = rekorV1Client(u, hc).Entries
		// sigstore-go's default is one 30s bound around all attempts; the
		// transport bounds each attempt, this only the whole call.
		opts.Timeout = cfg.budget()
	case 2:
		opts.ClientV2 = &rekorV2Writer{url: u, client: hc}
	default:
		return nil, fmt.Errorf("Rekor %s: unsupported API version %d", r.URL, r.Version)
	}
	return namedLog{Transparency: sgsign.NewRekor(opts), url: r.URL, version: opts.Version}, nil
}

// rekorV1Client is rekor's generated client over hc (what rekor's
// GetRekorClient builds, minus go-retryablehttp).
func rekorV1Client(u *url.URL, hc *http.Client) *rekorgen.Rekor {
	base := u.Path
	if base == "" || base == "/" {
		base = rekorgen.DefaultBasePath
	}
	rt := httptransport.NewWithClient(u.Host, base, []string{u.Scheme}, hc)
	rt.Consumers["application/json"] = runtime.JSONConsumer()
	rt.Consumers["application/x-pem-file"] = runtime.TextConsumer()
	rt.Producers["application/json"] = runtime.JSONProducer()
	reg := strfmt.Default
	reg.Add("signedCheckpoint", &rekorutil.SignedNote{}, rekorutil.SignedCheckpointValidator)
	return rekorgen.New(rt, reg)
}

// rekorV2Writer adds entries to a rekor-tiles log (POST
// /api/v2/log/entries), as rekor-tiles' own writer does, through hc.
type rekorV2Writer struct {
	url    *url.URL
	client *http.Client
}

func (w *rekorV2Writer) Add(ctx context.Context, entry any) (*protorekor.TransparencyLogEntry, error) {
	var req rekortiles.CreateEntryRequest
	switch e := entry.(type) {
	case *rekortiles.HashedRekordRequestV002:
		req.Spec = &rekortiles.CreateEntryRequest_HashedRekordRequestV002{HashedRekordRequestV002: e}
	default:
		return nil, fmt.Errorf("unsupported Rekor v2 entry type %T", entry)
	}
	body, err := protojson.Marshal(&req)
	if err != nil {
		return nil, fmt.Errorf("encoding Rekor v2 entry: %w", err)
	}
	endpoint := *w.url
	endpoint.Path = path.Join(endpoint.Path, "/api/v2/log/entries")
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return nil, fmt.Errorf("reading Rekor v2 response: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("answered %s: %s", resp.Status, bytes.TrimSpace(data))
	}
	var tle protorekor.TransparencyLogEntry
	if err := protojson.Unmarshal(data, &tle); err != nil {
		return nil, fmt.Errorf("parsing Rekor v2 response: %w", err)
	}
	return &tle, nil
}

// namedLog names the log in upload errors.
type namedLog struct {
	sgsign.Transparency
	url     string
	version uint32
}

func (l namedLog) GetTransparencyLogEntry(ctx context.Context, keyOrCert []byte, b *protobundle.Bundle) error {
	if err := l.Transparency.GetTransparencyLogEntry(ctx, keyOrCert, b); err != nil {
		return fmt.Errorf("uploading to Rekor v%d %s: %w", l.version, l.url, err)
	}
	return nil
}
