package trustroot

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// fetchTUF downloads trusted_root.json through TUF. Every request is
// bounded (RequestTimeout, Attempts tries) and so is the whole refresh
// (Timeout): the TUF client has no context, so a stuck mirror could
// otherwise hold a refresh, and a first admission, forever.
func fetchTUF(ctx context.Context, o Options) ([]byte, error) {
	opts := tuf.DefaultOptions()
	dir := o.CacheDir
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "signet", "tuf")
	}
	opts.CachePath = dir
	if o.Mirror != "" {
		opts.RepositoryBaseURL = o.Mirror
	}
	if o.TUFRoot != nil {
		opts.Root = o.TUFRoot
	}
	reqTimeout, attempts, timeout := o.RequestTimeout, o.Attempts, o.Timeout
	if reqTimeout <= 0 {
		reqTimeout = 10 * time.Second
	}
	if attempts <= 0 {
		attempts = 3
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPClient(&http.Client{Timeout: reqTimeout})
	f.SetRetry(time.Second, uint(attempts))
	opts.Fetcher = f

	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := tuf.New(opts)
		if err != nil {
			ch <- result{err: err}
			return
		}
		data, err := c.GetTarget("trusted_root.json")
		ch <- result{data, err}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("TUF repository %s: %w", opts.RepositoryBaseURL, r.err)
		}
		return r.data, nil
	case <-timer.C:
		return nil, fmt.Errorf("TUF repository %s: no trusted root within %s", opts.RepositoryBaseURL, timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("TUF repository %s: %w", opts.RepositoryBaseURL, ctx.Err())
	}
}
