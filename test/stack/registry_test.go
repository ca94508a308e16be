package stack_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/test/stack"
)

// Both registries must hold an image and return its referrers: distribution through
// the `sha256-<hex>` tag fallback, the in-process registry through the OCI 1.1 API.
// signet's verifier has to read signatures from either.
func TestRegistriesServeReferrers(t *testing.T) {
	s := sharedStack(t)
	inproc, srv := stack.NewRegistry()
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		name string
		reg  *stack.Registry
	}{
		{"distribution via referrers tag fallback", s.Registry},
		{"go-containerregistry via OCI 1.1 referrers API", inproc},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := random.Image(256, 1)
			if err != nil {
				t.Fatal(err)
			}
			ref, err := name.ParseReference(tc.reg.Host+"/acme/app:v1", name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref, img); err != nil {
				t.Fatal(err)
			}
			d, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			subject := ref.Context().Digest(d.String())
			desc, err := remote.Head(subject)
			if err != nil {
				t.Fatal(err)
			}
			// An artifact manifest whose subject is the image, like a Sigstore bundle.
			art := mutate.Subject(mutate.MediaType(mutate.ConfigMediaType(empty.Image, "application/vnd.dev.sigstore.bundle.v0.3+json"), types.OCIManifestSchema1), *desc).(v1.Image)
			artDigest, err := art.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Write(ref.Context().Digest(artDigest.String()), art); err != nil {
				t.Fatal(err)
			}
			assertReferrersAPI(t, tc.reg, "acme/app", d.String())
			if !tc.reg.ReferrersAPI {
				fallback := ref.Context().Tag(strings.Replace(d.String(), ":", "-", 1))
				if _, err := remote.Head(fallback); err != nil {
					t.Fatalf("referrers fallback tag %s: %v", fallback, err)
				}
			}
			idx, err := remote.Referrers(subject)
			if err != nil {
				t.Fatal(err)
			}
			m, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Manifests) != 1 || m.Manifests[0].Digest != artDigest {
				t.Fatalf("referrers of %s = %+v, want [%s]", d, m.Manifests, artDigest)
			}
			if m.Manifests[0].ArtifactType != "application/vnd.dev.sigstore.bundle.v0.3+json" {
				t.Errorf("artifactType = %q", m.Manifests[0].ArtifactType)
			}
		})
	}
}

// assertReferrersAPI checks Registry.ReferrersAPI against what the server really does.
func assertReferrersAPI(t *testing.T, reg *stack.Registry, repo, digest string) {
	t.Helper()
	resp, err := http.Get(reg.URL + "/v2/" + repo + "/referrers/" + digest)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.StatusCode == http.StatusOK; got != reg.ReferrersAPI {
		t.Errorf("GET referrers: %s, but Registry.ReferrersAPI = %v", resp.Status, reg.ReferrersAPI)
	}
}
