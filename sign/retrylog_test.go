package sign

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// TestRekorClientLogsNoDebugLines: the Rekor v1 client's retryablehttp
// logger passes failures on but never its per-request [DEBUG] lines, which
// used to fill every signing run's output.
func TestRekorClientLogsNoDebugLines(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	var lines []string
	c := retryablehttp.NewClient()
	c.Logger = retryLogger{log: func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }}
	c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = 1, time.Millisecond, time.Millisecond

	resp, err := c.Get(srv.URL + "/api/v1/log")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(lines) != 0 {
		t.Fatalf("a successful request logged %q", lines)
	}
	srv.Close()
	if _, err := c.Get(srv.URL + "/api/v1/log"); err == nil {
		t.Fatal("request to a stopped server succeeded")
	}
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "rekor: request failed") || strings.Contains(joined, "DEBUG") || strings.Contains(joined, "performing request") {
		t.Fatalf("want the failure and no debug lines, got:\n%s", joined)
	}
}
