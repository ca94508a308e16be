package e2e

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const denyAllPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
images:
  - {match: ["**"], deny: nothing runs here}
`

// TestWebhookOutlivesIdleClientsAtTheDescriptorLimit: enforce with the
// 1,024 file descriptors a container often gets, and 1,100 clients that
// each make one request and then keep their connection open and idle. A
// new admission is still answered inside its deadline: at
// --max-connections the longest idle connection is closed. Without that,
// accept fails with EMFILE and admissions time out.
func TestWebhookOutlivesIdleClientsAtTheDescriptorLimit(t *testing.T) {
	dir := t.TempDir()
	policy := writePolicy(t, dir, denyAllPolicy, nil)
	cert, key, caPEM := servingCert(t, dir)
	proc := launchEnforce(t, policy, cert, key, launch{fdLimit: 1024})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	addr := fmt.Sprintf("127.0.0.1:%d", proc.port)
	var open []*tls.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := range 1100 {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
			&tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("idle client %d could not connect: %v", i, err)
		}
		open = append(open, c)
		fmt.Fprintf(c, "GET /validate HTTP/1.1\r\nHost: enforce\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second)) //nolint:errcheck
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("idle client %d got no answer: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck
		resp.Body.Close()
	}
	hook := webhookClient(caPEM, proc.port)
	ok, msg, el := hook.admit(t, "docker.io/library/nginx:1")
	if ok || !strings.Contains(msg, "nothing runs here") || el > 5*time.Second {
		t.Fatalf("with 1,100 idle clients: allowed=%v after %s: %s", ok, el, msg)
	}
	t.Logf("admission answered in %s with 1,100 idle keep-alive clients and a 1,024 descriptor limit", el.Round(time.Millisecond))
}
