package e2e

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	namespaceLabel = regexp.MustCompile(`^signet_admissions_total\{namespace="([^"]*)"`)
	endpointLabel  = regexp.MustCompile(`^signet_admission_duration_seconds_count\{endpoint="([^"]*)"`)
)

// TestWebhookMetricLabelsStayBounded: the enforce binary over HTTPS gets
// 3,000 requests on distinct 2 KB junk paths and 3,000 admissions from
// distinct forged namespaces (and 100 whose namespace is no namespace
// name). /metrics keeps one "other" endpoint, at most the default 1,000
// namespaces plus "_other", and a bounded number of series; the junk never
// appears in it.
func TestWebhookMetricLabelsStayBounded(t *testing.T) {
	dir := t.TempDir()
	policy := writePolicy(t, dir, denyAllPolicy, nil)
	cert, key, caPEM := servingCert(t, dir)
	proc := launchEnforce(t, policy, cert, key, launch{})
	hook := webhookClient(caPEM, proc.port)
	hook.client.Transport.(*http.Transport).MaxIdleConnsPerHost = 8

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for worker := range 8 {
		wg.Go(func() {
			for i := worker; i < 3000; i += 8 {
				resp, err := hook.client.Get(fmt.Sprintf("%s/junk-%d-%s", hook.url, i, strings.Repeat("x", 2048)))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body) //nolint:errcheck
				resp.Body.Close()
				req := podReview(t, testPod("p", nil, []string{"registry.example/app:1"}), nil, "")
				req.Namespace = fmt.Sprintf("forged-%05d", i)
				if i < 100 {
					req.Namespace = fmt.Sprintf("Forged/%05d", i)
				}
				if out, err := hook.send("/validate", req); i >= 100 && (err != nil || out.Allowed) {
					errs <- fmt.Errorf("forged review %d: %v %+v", i, err, out)
					return
				} else if i < 100 && (err == nil || !strings.Contains(err.Error(), "status 400")) {
					errs <- fmt.Errorf("review %d with namespace %q: want a 400, got %v", i, req.Namespace, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("6,000 requests in %s", time.Since(start).Round(time.Millisecond))

	body := scrapeMetrics(t, proc.ops)
	namespaces, endpoints := map[string]bool{}, map[string]bool{}
	series, byNamespace := 0, 0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "signet_") {
			continue
		}
		series++
		if strings.Contains(line, `namespace="`) {
			byNamespace++
		}
		if m := namespaceLabel.FindStringSubmatch(line); m != nil {
			namespaces[m[1]] = true
		}
		if m := endpointLabel.FindStringSubmatch(line); m != nil {
			endpoints[m[1]] = true
		}
	}
	if len(namespaces) != 1001 || !namespaces["_other"] || namespaces["forged-02999"] {
		t.Errorf("signet_admissions_total has %d namespace values (_other: %v), want the first 1,000 and _other", len(namespaces), namespaces["_other"])
	}
	if len(endpoints) != 2 || !endpoints["other"] || !endpoints["validate"] {
		t.Errorf("endpoint values %v, want other and validate", endpoints)
	}
	if strings.Contains(body, "junk-") || strings.Contains(body, "Forged/") {
		t.Error("/metrics carries a request's junk")
	}
	// 1,001 namespaces x (one admission result + one decision result);
	// the rest is two endpoints' histograms and the fixed metrics.
	if byNamespace > 2*1001 || series-byNamespace > 200 {
		t.Errorf("%d signet_ series after the attack, %d of them by namespace", series, byNamespace)
	}
	t.Logf("%d signet_ series, /metrics %d KiB, enforce peak RSS %d MiB", series, len(body)>>10, vmHWM(t, proc.pid)>>20)
}
