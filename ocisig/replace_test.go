package ocisig

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// subjectBehind pushes a random image to an in-process registry wrapped by
// wrap (nil: none).
func subjectBehind(t *testing.T, referrers bool, wrap func(http.Handler) http.Handler) name.Digest {
	t.Helper()
	var h http.Handler = registry.New(registry.WithReferrersSupport(referrers), registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	img, _ := random.Image(64, 1)
	tag, _ := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/acme/app:v1")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return tag.Context().Digest(d.String())
}

// writerFor is a Writer for subject's repository (anonymous) and the
// subject's descriptor.
func writerFor(t *testing.T, subject name.Digest) (*Writer, v1.Descriptor) {
	t.Helper()
	repo := subject.Context()
	rt, err := transport.NewWithContext(context.Background(), repo.Registry, authn.Anonymous, http.DefaultTransport,
		[]string{repo.Scope(transport.PushScope)})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	return NewWriter(repo, rt), *desc
}

func signatureBy(who string, n int) Legacy {
	return Legacy{Kind: KindSignature, MediaType: SimpleSigningMediaType, Payload: []byte(`{"critical":{}}`),
		Signature: fmt.Sprintf("%s-%d", who, n)}
}

func byUs(l Legacy) bool { return strings.HasPrefix(l.Signature, "us-") }

// TestReplaceLegacyRepairsAnOverfullTag: a .sig tag that an appending
// signer grew past the readers' cap (65 layers of ours, one of someone
// else) leaves the oldest unread (theirs among them). One replacing write
// leaves ours once and theirs untouched, and the digest reads whole again.
func TestReplaceLegacyRepairsAnOverfullTag(t *testing.T) {
	ctx := context.Background()
	d := subjectBehind(t, true, nil)
	items := []Legacy{signatureBy("them", 0)}
	for i := range MaxItems + 1 {
		items = append(items, signatureBy("us", i))
	}
	if err := WriteLegacy(ctx, d, items); err != nil {
		t.Fatal(err)
	}
	found, err := Fetch(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Unread) != 1 || len(found.Legacy) != MaxItems {
		t.Fatalf("the reader read %d layers of a tag over its cap, unread %v", len(found.Legacy), found.Unread)
	}
	out, err := ReplaceLegacy(ctx, d, signatureBy("us", 100), byUs)
	if err != nil {
		t.Fatal(err)
	}
	if out.Action != ActionReplaced || len(out.Replaced) != MaxItems+1 {
		t.Fatalf("outcome %s replacing %d layers, want replaced %d", out.Action, len(out.Replaced), MaxItems+1)
	}
	if found, err = Fetch(ctx, d); err != nil {
		t.Fatal(err)
	}
	var sigs []string
	for _, l := range found.Legacy {
		sigs = append(sigs, l.Signature)
	}
	if strings.Join(sigs, ",") != "them-0,us-100" || len(found.Unread) != 0 {
		t.Fatalf("layers %v (unread %v), want theirs kept first and ours once", sigs, found.Unread)
	}
}

// TestReplaceLegacyIdenticalWritesNothing: the exact layer already there
// is not written again (no manifest PUT) and the outcome says unchanged.
func TestReplaceLegacyIdenticalWritesNothing(t *testing.T) {
	var puts atomic.Int64
	d := subjectBehind(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
				puts.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	for i, want := range []Action{ActionAdded, ActionUnchanged} {
		before := puts.Load()
		out, err := ReplaceLegacy(ctx, d, signatureBy("us", 1), byUs)
		if err != nil {
			t.Fatal(err)
		}
		if out.Action != want {
			t.Fatalf("write %d: %s, want %s", i+1, out.Action, want)
		}
		if want == ActionUnchanged && puts.Load() != before {
			t.Fatalf("an unchanged write PUT %d manifests", puts.Load()-before)
		}
	}
}

// TestReplaceBundleWhenTheRegistryRefusesDeletes: on a registry with the
// referrers API that refuses DELETE, the new bundle is written, the earlier
// one stays, and the outcome says why instead of failing the run.
func TestReplaceBundleWhenTheRegistryRefusesDeletes(t *testing.T) {
	d := subjectBehind(t, true, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodDelete {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusMethodNotAllowed)
				w.Write([]byte(`{"errors":[{"code":"UNSUPPORTED","message":"deletes are disabled"}]}`))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	all := func(Bundle) bool { return true }
	w, desc := writerFor(t, d)
	if out, err := w.ReplaceBundles(ctx, d, desc, []BundleItem{{JSON: []byte(`{"n":1}`), PredicateType: CosignSignPredicateType, Same: all}}); err != nil || out[0].Outcome.Action != ActionAdded {
		t.Fatalf("first write: %+v, %v", out, err)
	}
	written, err := w.ReplaceBundles(ctx, d, desc, []BundleItem{{JSON: []byte(`{"n":2}`), PredicateType: CosignSignPredicateType, Same: all}})
	if err != nil {
		t.Fatal(err)
	}
	if out := written[0].Outcome; out.Action != ActionAdded || !strings.Contains(out.Warning, "deletes are disabled") {
		t.Fatalf("outcome %+v, want added with the registry's refusal as a warning", out)
	}
	found, err := Fetch(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Bundles) != 2 {
		t.Fatalf("%d bundles, want the earlier one kept beside the new one", len(found.Bundles))
	}
}
