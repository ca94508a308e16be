package enforce

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/test/testworld"
)

// TestLoadConcurrentAdmissionsOfManyImages: 300 concurrent admissions over
// HTTPS, each a pod of 5 of 40 distinct new images (some named twice in one
// pod, some by digest), through the production cache and registry client;
// then the same 300 again, all cached. Every pod must be allowed. A crash
// (the "concurrent map writes" decideAll once had) fails the test binary;
// under -race (make test runs enforce with it) so does any data race.
func TestLoadConcurrentAdmissionsOfManyImages(t *testing.T) {
	w := testworld.New(t, testworld.Options{Policy: enforcePolicy})
	signer := w.GitHub("acme/app", "refs/heads/main")
	var imgs []string
	for i := range 40 {
		tag := fmt.Sprintf("acme/load%d:1.0", i)
		d := w.Push(tag)
		w.Sign(d, d, signer, testworld.Layouts[i%2])
		if i%5 == 0 {
			imgs = append(imgs, d.String()) // by digest: no tag resolution
		} else {
			imgs = append(imgs, w.Ref(tag))
		}
	}
	p, err := policy.LoadFile(w.PolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := productionCache(regclient.DefaultHostConcurrency)
	// The deadline is generous: this test is about crashes and races under
	// -race on a busy 2-core machine, not latency (the benchmarks are).
	srv := httptest.NewUnstartedServer(&Webhook{Handler: &Handler{Decider: cache, Policy: func() *policy.Policy { return p }}, Deadline: time.Minute})
	srv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 300
	bodies := make([][]byte, 300)
	for i := range bodies {
		names := []string{imgs[i%40], imgs[(i*7+3)%40], imgs[(i*13+5)%40], imgs[(i*17+11)%40], imgs[i%40]}
		bodies[i] = review(t, request(t, "Pod", "prod", pod(podSpec(nil, names)), admissionv1.Create, ""))
	}
	for _, round := range []string{"cold", "cached"} {
		var denied atomic.Int64
		var wg sync.WaitGroup
		for _, body := range bodies {
			wg.Go(func() {
				resp, err := client.Post(srv.URL+"/mutate", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Contains(data, []byte(`"allowed":true`)) {
					denied.Add(1)
					t.Logf("%s: %d %s", round, resp.StatusCode, data)
				}
			})
		}
		wg.Wait()
		if n := denied.Load(); n > 0 {
			t.Fatalf("%s round: %d of %d admissions denied", round, n, len(bodies))
		}
	}
	if v := cache.Stats.Verifications.Load(); v != 40 {
		t.Fatalf("%d verifications for 40 distinct images", v)
	}
}
