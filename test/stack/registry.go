package stack

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/registry"
	"go.yaml.in/yaml/v3"
)

// Registry is an OCI registry on loopback plain HTTP.
type Registry struct {
	URL  string // http://127.0.0.1:port
	Host string // 127.0.0.1:port, the prefix for image references
	// ReferrersAPI says whether GET /v2/<name>/referrers/<digest> is served. distribution
	// v3.1.2 has no referrers endpoint (it answers 404), so clients must use the
	// `sha256-<hex>` tag fallback; the in-process registry from NewRegistry serves it.
	ReferrersAPI bool
}

// startRegistry runs distribution's registry with filesystem storage in a temp dir.
func (s *Stack) startRegistry(ctx context.Context) (*Registry, error) {
	return onFreePortsValue(1, func(ports []int) (*Registry, error) { return s.startRegistryOn(ctx, ports[0]) })
}

func (s *Stack) startRegistryOn(ctx context.Context, port int) (*Registry, error) {
	dir := filepath.Join(s.Dir, "registry")
	cfg := map[string]any{
		"version": "0.1",
		"log":     map[string]any{"level": "info", "accesslog": map[string]any{"disabled": true}},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": filepath.Join(dir, "data")},
			"delete":     map[string]any{"enabled": true},
		},
		"http": map[string]any{"addr": fmt.Sprintf("127.0.0.1:%d", port)},
	}
	cfgPath, err := writeYAML(dir, "config.yml", cfg)
	if err != nil {
		return nil, err
	}
	// OTEL_TRACES_EXPORTER=none: distribution v3 otherwise tries to export traces.
	p, err := s.run(ctx, "registry", ToolRegistry, dir, []string{"OTEL_TRACES_EXPORTER=none"}, "serve", cfgPath)
	if err != nil {
		return nil, err
	}
	r := &Registry{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Host: fmt.Sprintf("127.0.0.1:%d", port)}
	return r, p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, r.URL+"/v2/"))
}

// NewRegistry starts go-containerregistry's in-process registry with the OCI 1.1
// referrers API enabled. Close the returned server when done.
func NewRegistry() (*Registry, *httptest.Server) {
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	return &Registry{URL: srv.URL, Host: strings.TrimPrefix(srv.URL, "http://"), ReferrersAPI: true}, srv
}

func writeYAML(dir, name string, v any) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, os.WriteFile(p, b, 0o644)
}

// httpOK is a readiness check: GET url answers 200.
func httpOK(c *http.Client, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}
