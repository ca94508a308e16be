package stack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// RegistryHosts tells the node's containerd how to pull images named by
// host, as a cluster's hosts.toml does: from server (http:// or https://,
// e.g. a mirror), trusting caPEM when set. containerd reads it at every
// pull, so it takes effect at once.
func (n *Node) RegistryHosts(host, server string, caPEM []byte) error {
	dir := filepath.Join(n.certsDir, host)
	toml := fmt.Sprintf("server = %q\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", server, server)
	if len(caPEM) > 0 {
		ca := filepath.Join(dir, "ca.pem")
		if err := writeFile(ca, string(caPEM)); err != nil {
			return err
		}
		toml += "  ca = " + strconv.Quote(ca) + "\n"
	}
	return writeFile(filepath.Join(dir, "hosts.toml"), toml)
}

// TLSRegistry is a registry with a private CA, as an internal Harbor or
// Artifactory is: the distribution registry over TLS with a certificate its
// own CA issued, reachable from the host and from pods.
type TLSRegistry struct {
	Host    string // 127.0.0.1:port, for the test
	PodHost string // the pod gateway's address: image references pods use, and the node pulls
	CAPEM   []byte
	pool    *x509.CertPool
}

// Transport trusts the registry's CA (and nothing else), for pushes.
func (r *TLSRegistry) Transport() http.RoundTripper {
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.pool, MinVersion: tls.VersionTLS12}}
}

// StartTLSRegistry starts a second registry over TLS with a CA of its own,
// forwards it on the pod gateway and tells the node's containerd its CA.
// It stops with the stack.
func (n *Node) StartTLSRegistry(ctx context.Context) (*TLSRegistry, error) {
	s := n.stack
	ca, err := newTestCA("signet test private registry CA")
	if err != nil {
		return nil, err
	}
	cert, key, err := ca.issueFor("private registry", nil, []net.IP{n.network.Gateway}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Dir, "registry-tls")
	if err := mkdir(dir); err != nil {
		return nil, err
	}
	for name, b := range map[string][]byte{"tls.crt": cert, "tls.key": key} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	r := &TLSRegistry{CAPEM: ca.PEM, pool: ca.CertPool()}
	if err := onFreePorts(1, func(ports []int) error { return s.runTLSRegistry(ctx, r, dir, ports[0]) }); err != nil {
		return nil, err
	}
	if r.PodHost, err = n.network.forward(r.Host); err != nil {
		return nil, err
	}
	return r, n.RegistryHosts(r.PodHost, "https://"+r.PodHost, r.CAPEM)
}

// runTLSRegistry runs the TLS registry on port and waits for its /v2/.
func (s *Stack) runTLSRegistry(ctx context.Context, r *TLSRegistry, dir string, port int) error {
	r.Host = fmt.Sprintf("127.0.0.1:%d", port)
	cfg, err := writeYAML(dir, "config.yml", map[string]any{
		"version": "0.1",
		"log":     map[string]any{"level": "info", "accesslog": map[string]any{"disabled": true}},
		"storage": map[string]any{"filesystem": map[string]any{"rootdirectory": filepath.Join(dir, "data")}},
		"http": map[string]any{"addr": r.Host, "tls": map[string]any{
			"certificate": filepath.Join(dir, "tls.crt"), "key": filepath.Join(dir, "tls.key")}},
	})
	if err != nil {
		return err
	}
	p, err := s.run(ctx, "registry-tls", ToolRegistry, dir, []string{"OTEL_TRACES_EXPORTER=none"}, "serve", cfg)
	if err != nil {
		return err
	}
	return p.waitReady(ctx, s.readyTimeout(), httpOK(&http.Client{Transport: r.Transport()}, "https://"+r.Host+"/v2/"))
}
