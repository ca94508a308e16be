package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/regclient"
	"github.com/signet-dev/signet/test/testworld"
)

// TestProducerTouchesNoRegistry: a Session produces a signature and an
// attestation in both layouts for a digest on a registry that does not
// exist, with a transport that fails the test if anything is sent: signing
// is the producer's half, and it writes nothing.
func TestProducerTouchesNoRegistry(t *testing.T) {
	w := testworld.New(t, testworld.Options{})
	cfg := Config{Key: worldKey(t, w), Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		t.Errorf("the producer sent %s %s", r.Method, r.URL)
		return nil, http.ErrNotSupported
	})}
	s, err := NewSession(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := name.NewDigest("registry.invalid/acme/app@sha256:" + string(bytes.Repeat([]byte("a"), 64)))
	var p Producer = s
	sig, err := p.Signature(context.Background(), d, FormatBoth)
	if err != nil {
		t.Fatal(err)
	}
	att, err := p.Attestation(context.Background(), d, "https://example.com/sbom", json.RawMessage(`{}`), FormatBoth)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []Material{sig, att} {
		if m.Bundle == nil || m.Legacy == nil || m.SameBundle == nil || m.SameLegacy == nil || m.Subject != d {
			t.Fatalf("%s: want both layouts and the same-signer matchers, got %+v", m.Kind, m)
		}
	}
	if only, _ := p.Signature(context.Background(), d, FormatLegacy); only.Bundle != nil || only.Legacy == nil {
		t.Fatalf("--format legacy produced a bundle: %+v", only)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestPublisherWritesMaterialInEachLayout: the publisher's half alone, on
// material it did not sign (bytes it must move as they are): both layouts
// are written where readers look, the bytes are the material's, and a
// second publish whose matchers accept the first replaces it instead of
// adding, on a registry with the referrers API and on one without.
func TestPublisherWritesMaterialInEachLayout(t *testing.T) {
	for _, noReferrers := range []bool{false, true} {
		w := testworld.New(t, testworld.Options{NoReferrers: noReferrers})
		d := w.Push("acme/app:1")
		repo := d.Context()
		rt, err := regclient.New().Writer(context.Background(), repo, authn.Anonymous)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := remote.Head(d)
		if err != nil {
			t.Fatal(err)
		}
		pub := RegistryPublisher{Writer: ocisig.NewWriter(repo, rt)}
		subject := Subject{Digest: d, Descriptor: *desc}
		material := func(n string) Material {
			return Material{Subject: d, Kind: ocisig.KindSignature, PredicateType: ocisig.CosignSignPredicateType,
				Bundle:     []byte(`{"n":"` + n + `"}`),
				Legacy:     &ocisig.Legacy{Kind: ocisig.KindSignature, MediaType: ocisig.SimpleSigningMediaType, Payload: []byte(`{}`), Signature: n},
				SameBundle: func(ocisig.Bundle) bool { return true }, SameLegacy: func(ocisig.Legacy) bool { return true }}
		}
		for i, n := range []string{"first", "second"} {
			out, err := pub.Publish(context.Background(), subject, []Material{material(n)})
			if err != nil {
				t.Fatal(err)
			}
			want := ocisig.ActionAdded
			if i > 0 {
				want = ocisig.ActionReplaced
			}
			if out[0].BundleWrite.Action != want || out[0].LegacyWrite.Action != want || out[0].Bundle == "" || out[0].LegacyTag == "" {
				t.Fatalf("noReferrers=%v, publish %d: %+v, want %s in both layouts", noReferrers, i+1, out[0], want)
			}
			found, err := ocisig.Fetch(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if len(found.Bundles) != 1 || string(found.Bundles[0].JSON) != `{"n":"`+n+`"}` ||
				len(found.Legacy) != 1 || found.Legacy[0].Signature != n {
				t.Fatalf("noReferrers=%v, publish %d: readers find %+v, want exactly the material", noReferrers, i+1, found)
			}
		}
	}
}
