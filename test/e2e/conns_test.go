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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/test/stack"
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

const vendorPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
images:
  - {name: vendor, match: [REGISTRY/vendor/**], signature: optional}
  - {match: ["**"], deny: nothing else runs here}
`

// TestWebhookAnswersAdmissionsWhileOneClientSendsBodiesSlowly: one client
// (a pod, here 127.0.0.2) keeps 600 connections that send a review's
// headers and then its body one byte and never the rest, reconnecting as
// soon as one is closed: more than --max-connections (512). Ten concurrent
// admissions of an image decided before, from the apiserver (127.0.0.1),
// are all answered, allowed, within the webhook deadline. Before the
// per-client share, the body timeout and the eviction of stalled
// connections, the slow client held every slot until the read timeout and
// the admissions failed.
func TestWebhookAnswersAdmissionsWhileOneClientSendsBodiesSlowly(t *testing.T) {
	s := stack.New(t, stack.Options{Registry: true})
	dir := t.TempDir()
	image := s.Registry.Host + "/vendor/db:7"
	push(t, image)
	policy := writePolicy(t, dir, vendorPolicy, map[string]string{"REGISTRY": s.Registry.Host})
	cert, key, caPEM := servingCert(t, dir)
	proc := launchEnforce(t, policy, cert, key, launch{})
	addr := fmt.Sprintf("127.0.0.1:%d", proc.port)
	hook := webhookClient(caPEM, proc.port)
	if ok, msg, _ := hook.admit(t, image); !ok {
		t.Fatalf("the image was denied before the attack: %s", msg)
	}

	const slow = 600
	var opened atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for range slow {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				trickle(addr, stop, &opened)
			}
		})
	}
	waitFor(t, time.Minute, "600 slow connections opened", func() error {
		if n := opened.Load(); n < slow {
			return fmt.Errorf("%d opened", n)
		}
		return nil
	})

	type result struct {
		ok  bool
		msg string
		el  time.Duration
	}
	results := make(chan result, 10)
	for range 10 {
		go func() {
			ok, msg, el := hook.admit(t, image)
			results <- result{ok, msg, el}
		}()
	}
	var slowest time.Duration
	for range 10 {
		r := <-results
		if !r.ok || r.el > 4*time.Second {
			t.Errorf("admission during the attack: allowed=%v after %s (deadline 4s): %s", r.ok, r.el.Round(time.Millisecond), r.msg)
		}
		slowest = max(slowest, r.el)
	}
	t.Logf("10 admissions answered within %s while one client held %d slow connections (%d opened in all)", slowest.Round(time.Millisecond), slow, opened.Load())
}

// trickle opens a connection from 127.0.0.2, sends a review's headers and
// the first byte of its body, and holds it until the server closes it or
// stop.
func trickle(addr string, stop <-chan struct{}, opened *atomic.Int64) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // the attacker
	if err != nil {
		select {
		case <-stop:
		case <-time.After(100 * time.Millisecond): // a refused dial: back off before the next
		}
		return
	}
	defer c.Close()
	opened.Add(1)
	fmt.Fprintf(c, "POST /validate HTTP/1.1\r\nHost: enforce\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, c); close(done) }() //nolint:errcheck
	select {
	case <-done:
	case <-stop:
	}
}
