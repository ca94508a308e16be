package enforce

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/test/sigstoretest"
	"github.com/signet-dev/signet/test/testworld"
	"github.com/signet-dev/signet/verify"
)

// slowRegistry answers every request after delay and counts them.
type slowRegistry struct {
	delay    time.Duration
	requests atomic.Int64
}

func (s *slowRegistry) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.delay > 0 {
			time.Sleep(s.delay) // the registry's latency, not synchronisation
		}
		h.ServeHTTP(w, r)
	})
}

// BenchmarkColdBurst: 500 concurrent admissions naming 50 images never seen
// before (10 pods per image; each image signed and attested), the registry
// answering every request after 200 ms, the webhook wired as `enforce
// serve` wires it with its default flags. Reports how many admissions were
// decided (answered with the verdict rather than a deadline denial), their
// p50/p99, the registry requests per image, and the p50 of the same 500
// admissions once every image is cached.
func BenchmarkColdBurst(b *testing.B) {
	coldBurst(b, regclient.DefaultHostConcurrency)
}

// BenchmarkRegistryConcurrency: the same burst with other values of
// --registry-concurrency, the measurement behind its default.
func BenchmarkRegistryConcurrency(b *testing.B) {
	for _, n := range []int{8, 16, 32, 64} {
		b.Run(fmt.Sprintf("slots=%d", n), func(b *testing.B) { coldBurst(b, n) })
	}
}

func coldBurst(b *testing.B, perHost int) {
	reg := &slowRegistry{}
	w := testworld.New(b, testworld.Options{Policy: benchPolicy, Wrap: reg.wrap})
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		b.Fatal(err)
	}
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		var imgs []string
		for i := range 50 {
			imgs = append(imgs, signedImage(w, fmt.Sprintf("acme/burst%d-%d:1", round, i)))
		}
		srv, client, cache := burstServer(b, p, perHost)
		warm(client, srv.URL, 500)
		reg.delay, reg.requests = 200*time.Millisecond, atomic.Int64{}
		b.StartTimer()
		lat, decided := burst(b, client, srv.URL, imgs, 500)
		b.StopTimer()
		b.ReportMetric(float64(decided), "decided")
		b.ReportMetric(pct(lat, 0.50), "p50-ms")
		b.ReportMetric(pct(lat, 0.99), "p99-ms")
		// Let the shared verifications the burst started finish, then
		// admit the same pods again: every decision is cached.
		deadline := time.Now().Add(2 * time.Minute)
		for cache.Store.mem.len() < len(imgs) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // polling a condition, bounded
		}
		b.ReportMetric(float64(reg.requests.Load())/float64(len(imgs)), "requests/image")
		cached, _ := burst(b, client, srv.URL, imgs, 500)
		b.ReportMetric(pct(cached, 0.50), "cached-p50-ms")
		reg.delay = 0
		srv.Close()
		b.StartTimer()
	}
}

// burstServer is the webhook as cmd/enforce builds it with default flags.
func burstServer(b *testing.B, p *policy.Policy, perHost int) (*httptest.Server, *http.Client, *Cache) {
	v := verify.New(verify.WithRegistry(regclient.New(regclient.WithHostConcurrency(perHost))))
	cache := NewCache(v, CacheConfig{VerifyTimeout: 24 * time.Second})
	srv := httptest.NewUnstartedServer(&Webhook{Handler: &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}, Deadline: 8 * time.Second})
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 512
	return srv, client, cache
}

// warm opens n connections to the webhook, so the burst measures
// admissions rather than n simultaneous TLS handshakes.
func warm(client *http.Client, url string, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if resp, err := client.Get(url + "/mutate"); err == nil {
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// burst sends n concurrent admissions, pod i naming imgs[i%len(imgs)], and
// returns their latencies and how many were allowed.
func burst(b *testing.B, client *http.Client, url string, imgs []string, n int) ([]time.Duration, int) {
	bodies := make([][]byte, len(imgs))
	for i, img := range imgs {
		bodies[i] = podReview(b, img)
	}
	var mu sync.Mutex
	var lat []time.Duration
	var allowed int
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			resp, err := client.Post(url+"/mutate", "application/json", bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				b.Error(err)
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			lat = append(lat, time.Since(t0))
			if bytes.Contains(data, []byte(`"allowed":true`)) {
				allowed++
			}
		}()
	}
	wg.Wait()
	return lat, allowed
}

func pct(lat []time.Duration, f float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(f*float64(len(s))))].Microseconds()) / 1000
}

// BenchmarkColdImageRequests: the registry requests one cold admission of
// an image signed and attested in both layouts costs, through the
// production wiring (tag resolution, signatures, attestations), on a
// registry with the OCI 1.1 referrers API and on one without it (the
// referrers tag fallback, as distribution v3 serves).
func BenchmarkColdImageRequests(b *testing.B) {
	for _, tc := range []struct {
		name        string
		noReferrers bool
	}{{"referrers-api", false}, {"referrers-tag", true}} {
		b.Run(tc.name, func(b *testing.B) {
			reg := &slowRegistry{}
			w := testworld.New(b, testworld.Options{Policy: benchPolicy, Wrap: reg.wrap, NoReferrers: tc.noReferrers})
			p, err := policy.LoadFile(w.PolicyPath)
			if err != nil {
				b.Fatal(err)
			}
			srv, client, _ := burstServer(b, p, regclient.DefaultHostConcurrency)
			defer srv.Close()
			var total int64
			i := 0
			for b.Loop() {
				b.StopTimer()
				img := bothLayouts(w, fmt.Sprintf("acme/cold%d:1", i))
				i++
				body := podReview(b, img)
				before := reg.requests.Load()
				b.StartTimer()
				admit(b, client, srv.URL, body)
				b.StopTimer()
				total += reg.requests.Load() - before
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/float64(i), "requests/image")
		})
	}
}

// bothLayouts pushes an image signed and SLSA-attested by the world's key
// in the legacy layout and as bundles, as `sign image --attest` writes it.
func bothLayouts(w *testworld.World, repoTag string) string {
	d := w.Push(repoTag)
	s := w.KeySigner(nil)
	prov := sigstoretest.SLSAv1GitHub(sigstoretest.GitHub("acme/app", ".github/workflows/release.yml", "refs/heads/main"))
	for _, l := range testworld.Layouts {
		w.Sign(d, d, s, l)
		w.Attest(d, d, s, l, policy.SLSAProvenanceV1, prov)
	}
	return w.Ref(repoTag)
}
