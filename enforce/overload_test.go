package enforce

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/verify"
)

// blackHole accepts TCP connections and never answers: a registry host
// that hangs in the TLS handshake. It holds them without a goroutine each.
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newBlackHole(t *testing.T) *blackHole {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

func (b *blackHole) accepted() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// dialer sends every registry host to the black hole: thousands of
// distinct, slow hosts on loopback.
func (b *blackHole) transport() http.RoundTripper {
	addr := b.ln.Addr().String()
	base := regclient.HTTPTransport()
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return base
}

const overloadPolicy = `apiVersion: signet.dev/v1alpha1
kind: TrustPolicy
identities:
  - {name: release-key, key: {publicKey: "KEY"}}
images:
  - {name: everything, match: ["**"], signedBy: [release-key]}
`

// TestInFlightWorkIsBoundedAcrossRegistryHosts: forty reviews of fifty
// containers each name images at two thousand distinct registry hosts that
// never answer (half by tag, half by digest). At most --max-in-flight
// verifications and tag resolutions run at once, so connections,
// goroutines and memory stay bounded, and every image beyond the bound is
// denied naming it, transiently (never kept). Without the bound each image
// starts its own flight and holds a connection to its host.
func TestInFlightWorkIsBoundedAcrossRegistryHosts(t *testing.T) {
	const reviews, perReview, maxInFlight = 40, 50, 32
	hole := newBlackHole(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, err := policy.Parse([]byte(strings.Replace(overloadPolicy, "KEY", strings.ReplaceAll(string(pemOfKey(t, key)), "\n", `\n`), 1)))
	if err != nil {
		t.Fatal(err)
	}
	limiter := regclient.NewLimiter(regclient.DefaultHostConcurrency)
	registry := regclient.New(regclient.WithBase(hole.transport()), regclient.WithGate(limiter))
	cache := NewCache(verify.New(verify.WithRegistry(registry)), CacheConfig{MaxInFlight: maxInFlight, VerifyTimeout: 3 * time.Second})
	var overloaded, transient, decided atomic.Int64
	h := &Handler{Decider: cache, Policy: func() *policy.Policy { return p },
		Observe: func(_ *admissionv1.AdmissionRequest, _ Image, d *verify.Decision) {
			decided.Add(1)
			if d.Transient {
				transient.Add(1)
			}
			for _, r := range d.Reasons {
				if r.Code == verify.CodeOverloaded && strings.Contains(r.Message, fmt.Sprintf("%d verifications and tag resolutions in flight", maxInFlight)) &&
					strings.Contains(r.Message, "--max-in-flight") {
					overloaded.Add(1)
				}
			}
		}}
	var reqs []*admissionv1.AdmissionRequest
	for i := range reviews {
		var images []string
		for j := range perReview {
			host := fmt.Sprintf("h%d.slow.example:5000", i*perReview+j)
			if j%2 == 0 {
				images = append(images, host+"/app:1")
			} else {
				images = append(images, host+"/app@sha256:"+strings.Repeat("ab", 32))
			}
		}
		reqs = append(reqs, request(t, "Pod", "prod", pod(podSpec(nil, images)), admissionv1.Create, ""))
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	baseGoroutines := runtime.NumGoroutine()
	stop := make(chan struct{})
	var peakGoroutines atomic.Int64
	var peakHeap atomic.Uint64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if g := int64(runtime.NumGoroutine()); g > peakGoroutines.Load() {
				peakGoroutines.Store(g)
			}
			if m.HeapInuse > peakHeap.Load() {
				peakHeap.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for _, req := range reqs {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if h.Validate(ctx, req).Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled

	images := int64(reviews * perReview)
	extraGoroutines := peakGoroutines.Load() - int64(baseGoroutines)
	heapGrowth := int64(peakHeap.Load()) - int64(before.HeapInuse)
	t.Logf("%d images at %d hosts, bound %d: %d connections to the hosts, peak %d goroutines above the %d before, heap +%d KiB; %d denied naming the bound",
		images, images, maxInFlight, hole.accepted(), extraGoroutines, baseGoroutines, heapGrowth>>10, overloaded.Load())
	if allowed.Load() != 0 || decided.Load() != images || transient.Load() != images {
		t.Fatalf("%d reviews allowed, %d of %d images decided, %d transient", allowed.Load(), decided.Load(), images, transient.Load())
	}
	if hole.accepted() > maxInFlight {
		t.Errorf("%d connections to slow hosts, more than the %d flights allowed", hole.accepted(), maxInFlight)
	}
	if overloaded.Load() < images-maxInFlight {
		t.Errorf("%d images denied naming the bound, want at least %d", overloaded.Load(), images-maxInFlight)
	}
	// Each image waits in the handler (one goroutine per image, bounded by
	// the review); what the bound caps is the work beside them.
	if limit := images + 16*maxInFlight; extraGoroutines > limit {
		t.Errorf("peak %d goroutines above the start, want at most %d", extraGoroutines, limit)
	}
	if heapGrowth > 32<<20 {
		t.Errorf("heap grew by %d MiB during the flood", heapGrowth>>20)
	}
	waitUntil(t, "the flights to end and the limiter to forget the hosts", func() bool {
		return cache.Store.work.inFlight() == 0 && cache.Tags.work.inFlight() == 0 && limiter.Hosts() == 0
	})
}
