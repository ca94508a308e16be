package sign

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/testworld"
)

// TestPostCheckDecidesWhatTheRegistryLists: a registry with the referrers
// API accepts the run's bundle referrer but never lists it (an index that
// lags or lost it). The post-check evaluates the listing the registry
// gives after the writes, not what the run believes it wrote: it denies,
// and the run fails with ErrPostCheck.
func TestPostCheckDecidesWhatTheRegistryLists(t *testing.T) {
	hide := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/referrers/") {
				w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
				w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	w := testworld.New(t, testworld.Options{Wrap: hide})
	w.Push("acme/app:1.0")
	kp := worldKey(t, w)
	s, err := NewSession(Config{Key: kp})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), s, Request{Image: w.Ref("acme/app:1.0"), Format: FormatBundle, Sign: true,
		Policy: loadPolicy(t, w), Signer: Signer{Key: kp}, PostCheck: NewPostCheck()})
	if !errors.Is(err, ErrPostCheck) || res.Decision == nil || res.Decision.Allowed {
		t.Fatalf("want the post-check to deny a signature the registry does not list, got %v (%+v)", err, res.Decision)
	}
	if len(res.Signed) != 1 || res.Signed[0].Bundle == "" {
		t.Fatalf("the bundle was written: %+v", res.Signed)
	}
}
