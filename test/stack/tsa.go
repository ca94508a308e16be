package stack

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
)

// TSA is a real RFC 3161 timestamp authority with an in-memory signer.
type TSA struct {
	URL      string // base URL; timestamps are POSTed to URL + "/api/v1/timestamp"
	ChainPEM []byte // leaf first, root last
}

// TimestampURL is the endpoint cosign's --timestamp-server-url wants.
func (t *TSA) TimestampURL() string { return t.URL + "/api/v1/timestamp" }

// startTSA runs timestamp-server, built so that its Prometheus server binds
// a free loopback port (ToolTSA): the release's fixed ":2112" would let only
// one TSA run on a machine, and stacks run side by side.
func (s *Stack) startTSA(ctx context.Context) (*TSA, error) {
	return onFreePortsValue(1, func(ports []int) (*TSA, error) { return s.startTSAOn(ctx, ports[0]) })
}

func (s *Stack) startTSAOn(ctx context.Context, port int) (*TSA, error) {
	dir := filepath.Join(s.Dir, "tsa")
	args := []string{"serve", "--host=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--timestamp-signer=memory", "--disable-ntp-monitoring", "--cleanup-timeout=1s"}
	if s.opts.TSAChain {
		args = append(args, "--include-chain-in-response")
	}
	p, err := s.run(ctx, "timestamp-server", ToolTSA, dir, nil, args...)
	if err != nil {
		return nil, err
	}
	t := &TSA{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	if err := p.waitReady(ctx, s.readyTimeout(), httpOK(http.DefaultClient, t.URL+"/api/v1/timestamp/certchain")); err != nil {
		return nil, err
	}
	t.ChainPEM, err = httpGet(ctx, t.URL+"/api/v1/timestamp/certchain")
	return t, err
}
