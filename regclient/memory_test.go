package regclient

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// memoWorld is a memo over a real in-process registry (referrers API on)
// that counts what reaches the registry.
type memoWorld struct {
	t      *testing.T
	base   string
	m      *memory
	hits   atomic.Int64
	refuse atomic.Bool // answer PUTs 500 without storing
}

func newMemoWorld(t *testing.T) *memoWorld {
	w := &memoWorld{t: t}
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.hits.Add(1)
		if r.Method == http.MethodPut && w.refuse.Load() {
			http.Error(rw, "disk full", http.StatusInternalServerError)
			return
		}
		reg.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.base, w.m = srv.URL+"/v2/acme/app", newMemory(http.DefaultTransport)
	return w
}

// do sends one request through the memo and returns its status and
// whether the registry saw it.
func (w *memoWorld) do(method, path, body, contentType string) (int, bool) {
	w.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, w.base+path, rd)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	before := w.hits.Load()
	resp, err := w.m.RoundTrip(req)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, w.hits.Load() > before
}

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	emptyBlob   = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // {}
)

// manifest is an OCI manifest over the empty blob, with a subject when
// subject is a digest.
func manifest(subject string) string {
	m := `{"schemaVersion":2,"mediaType":"` + ociManifest + `","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + emptyBlob + `","size":2},"layers":[]`
	if subject != "" {
		m += `,"subject":{"mediaType":"` + ociManifest + `","digest":"` + subject + `","size":2}`
	}
	return m + `}`
}

func (w *memoWorld) pushEmptyBlob() {
	w.t.Helper()
	resp, err := http.Post(w.base+"/blobs/uploads/", "", nil)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = strings.TrimSuffix(w.base, "/v2/acme/app") + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+emptyBlob, bytes.NewReader([]byte("{}")))
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusCreated {
		w.t.Fatalf("pushing the empty blob: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestMemoAnswersOnlyWhatTheRegistryWouldAnswerNow: the post-check's
// reads are served from memory only where that is exactly the registry's
// answer: content by digest the registry accepted, a listing read after
// the run's last write to it. A listing read before a write, content the
// registry refused, a deleted manifest: each goes to the registry.
func TestMemoAnswersOnlyWhatTheRegistryWouldAnswerNow(t *testing.T) {
	t.Run("a tag read before the run's PUT to it is read again", func(t *testing.T) {
		w := newMemoWorld(t)
		w.pushEmptyBlob()
		if code, _ := w.do("GET", "/manifests/sha256-x.sig", "", ""); code != http.StatusNotFound {
			t.Fatalf("absent tag: %d", code)
		}
		if code, _ := w.do("PUT", "/manifests/sha256-x.sig", manifest(""), ociManifest); code != http.StatusCreated {
			t.Fatalf("PUT: %d", code)
		}
		code, sent := w.do("GET", "/manifests/sha256-x.sig", "", "")
		if code != http.StatusOK || !sent {
			t.Fatalf("after the PUT: %d (sent to the registry: %v), want the registry's 200", code, sent)
		}
		if code, sent := w.do("GET", "/manifests/sha256-x.sig", "", ""); code != http.StatusOK || sent {
			t.Fatalf("read back after the last write: %d, sent %v; want it from memory", code, sent)
		}
	})
	t.Run("a referrers list read before a referrer's PUT is read again", func(t *testing.T) {
		w := newMemoWorld(t)
		w.pushEmptyBlob()
		subject := digestOf([]byte(manifest("")))
		w.do("PUT", "/manifests/v1", manifest(""), ociManifest)
		w.do("GET", "/referrers/"+subject, "", "")
		w.do("PUT", "/manifests/"+digestOf([]byte(manifest(subject))), manifest(subject), ociManifest)
		if _, sent := w.do("GET", "/referrers/"+subject, "", ""); !sent {
			t.Fatal("a referrers list from before a referrer was written was served from memory")
		}
	})
	t.Run("content the registry refused is not served", func(t *testing.T) {
		w := newMemoWorld(t)
		w.pushEmptyBlob()
		w.refuse.Store(true)
		body := manifest("")
		if code, _ := w.do("PUT", "/manifests/"+digestOf([]byte(body)), body, ociManifest); code != http.StatusInternalServerError {
			t.Fatalf("refused PUT: %d", code)
		}
		if code, sent := w.do("GET", "/manifests/"+digestOf([]byte(body)), "", ""); code != http.StatusNotFound || !sent {
			t.Fatalf("refused content: %d, sent %v; want the registry's 404", code, sent)
		}
	})
	t.Run("accepted content is served by digest", func(t *testing.T) {
		w := newMemoWorld(t)
		w.pushEmptyBlob()
		body := manifest("")
		w.do("PUT", "/manifests/"+digestOf([]byte(body)), body, ociManifest)
		if code, sent := w.do("GET", "/manifests/"+digestOf([]byte(body)), "", ""); code != http.StatusOK || sent {
			t.Fatalf("accepted content: %d, sent %v; want it from memory", code, sent)
		}
	})
	t.Run("deleted content is read again", func(t *testing.T) {
		w := newMemoWorld(t)
		w.pushEmptyBlob()
		body := manifest("")
		w.do("PUT", "/manifests/"+digestOf([]byte(body)), body, ociManifest)
		w.do("DELETE", "/manifests/"+digestOf([]byte(body)), "", "")
		if code, sent := w.do("GET", "/manifests/"+digestOf([]byte(body)), "", ""); code != http.StatusNotFound || !sent {
			t.Fatalf("deleted content: %d, sent %v; want the registry's 404", code, sent)
		}
	})
}

// TestMemoHandsOnWholeWhatItCannotKeep: a response larger than the memo
// keeps reaches the caller whole.
func TestMemoHandsOnWholeWhatItCannotKeep(t *testing.T) {
	big := strings.Repeat("x", memoryMax+10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length: the memo reads to find the size
		io.WriteString(w, big)
	}))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/acme/app/manifests/v1", nil)
	resp, err := newMemory(http.DefaultTransport).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got, _ := io.ReadAll(resp.Body); len(got) != len(big) {
		t.Fatalf("got %d bytes, want all %d", len(got), len(big))
	}
}
