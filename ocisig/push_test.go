package ocisig

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestWriterRefusesAnUploadLocationOnAnInternalAddress: a registry that
// answers the upload POST with a Location on another host at a private
// address (a cloud metadata service, an internal API) does not get the
// blob sent there; a Location on the registry's own host is followed.
func TestWriterRefusesAnUploadLocationOnAnInternalAddress(t *testing.T) {
	for _, tc := range []struct {
		name, location string
		refused        bool
	}{
		{"private address", "http://10.0.0.1/upload", true},
		{"link-local metadata address", "http://169.254.169.254/latest", true},
		{"the registry's own host", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var on atomic.Bool // after the subject is pushed
			d := subjectBehind(t, true, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/") && tc.location != "" && on.Load() {
						w.Header().Set("Location", tc.location)
						w.WriteHeader(http.StatusAccepted)
						return
					}
					h.ServeHTTP(w, r)
				})
			})
			on.Store(true)
			wr, _ := writerFor(t, d)
			_, err := wr.Blob(context.Background(), []byte("payload"), types.MediaType(SimpleSigningMediaType))
			if tc.refused != (err != nil && strings.Contains(err.Error(), "internal address")) {
				t.Fatalf("upload error %v, want refused=%v", err, tc.refused)
			}
		})
	}
}
