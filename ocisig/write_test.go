package ocisig

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// pushSubject starts an in-process registry and pushes a random image to
// it, returning the image's digest reference.
func pushSubject(t *testing.T, referrers bool) name.Digest {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(referrers),
		registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/acme/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return tag.Context().Digest(d.String())
}

func legacyItems() (sig1, sig2, att Legacy) {
	sig1 = Legacy{Kind: KindSignature, MediaType: SimpleSigningMediaType, Payload: []byte(`{"critical":{}}`),
		Signature: "c2lnMQ==", Certificate: []byte("-----BEGIN CERTIFICATE-----\n"), Chain: []byte("chain"),
		RekorBundle: []byte(`{"SignedEntryTimestamp":"x"}`)}
	sig2 = Legacy{Kind: KindSignature, MediaType: SimpleSigningMediaType, Payload: []byte(`{"critical":{}}`),
		Signature: "c2lnMg=="}
	att = Legacy{Kind: KindAttestation, MediaType: DSSEMediaType, Payload: []byte(`{"payloadType":"application/vnd.in-toto+json"}`),
		PredicateType: "https://slsa.dev/provenance/v1", RFC3161: []byte(`{"SignedRFC3161Timestamp":"AA=="}`)}
	return
}

func TestWriteLegacy(t *testing.T) {
	ctx := context.Background()
	subject := pushSubject(t, false)
	h, _ := v1.NewHash(subject.DigestStr())
	sig1, sig2, att := legacyItems()

	// Written twice: the second write must not duplicate the layers.
	for range 2 {
		if err := WriteLegacy(ctx, subject, []Legacy{sig1, att}); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteLegacy(ctx, subject, []Legacy{sig2}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		kind      Kind
		wantTag   string
		layerMT   []types.MediaType
		wantAnn   []map[string]string
		wantAbsnt []string
	}{
		{
			name:    "signatures append in order under .sig, no duplicates",
			kind:    KindSignature,
			wantTag: h.Algorithm + "-" + h.Hex + ".sig",
			layerMT: []types.MediaType{SimpleSigningMediaType, SimpleSigningMediaType},
			wantAnn: []map[string]string{
				{AnnotationSignature: "c2lnMQ==", AnnotationCertificate: string(sig1.Certificate), AnnotationChain: "chain", AnnotationRekorBundle: string(sig1.RekorBundle)},
				{AnnotationSignature: "c2lnMg=="},
			},
			wantAbsnt: []string{AnnotationPredicateType, AnnotationRFC3161Timestamp},
		},
		{
			name:      "attestations under .att carry predicateType and an empty signature",
			kind:      KindAttestation,
			wantTag:   h.Algorithm + "-" + h.Hex + ".att",
			layerMT:   []types.MediaType{DSSEMediaType},
			wantAnn:   []map[string]string{{AnnotationSignature: "", AnnotationPredicateType: att.PredicateType, AnnotationRFC3161Timestamp: string(att.RFC3161)}},
			wantAbsnt: []string{AnnotationCertificate, AnnotationChain, AnnotationRekorBundle},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tag := subject.Context().Tag(LegacyTag(h, tc.kind))
			if tag.TagStr() != tc.wantTag {
				t.Fatalf("tag = %s, want %s", tag.TagStr(), tc.wantTag)
			}
			img, err := remote.Image(tag)
			if err != nil {
				t.Fatal(err)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
				t.Errorf("manifest %s, config %s: want cosign's OCI manifest and config", m.MediaType, m.Config.MediaType)
			}
			if len(m.Layers) != len(tc.layerMT) {
				t.Fatalf("%d layers, want %d", len(m.Layers), len(tc.layerMT))
			}
			layers, _ := img.Layers()
			for i, l := range m.Layers {
				if l.MediaType != tc.layerMT[i] {
					t.Errorf("layer %d media type %s", i, l.MediaType)
				}
				for k, v := range tc.wantAnn[i] {
					if got, ok := l.Annotations[k]; !ok || got != v {
						t.Errorf("layer %d annotation %s = %q (present %v), want %q", i, k, got, ok, v)
					}
				}
				for _, k := range tc.wantAbsnt {
					if _, ok := l.Annotations[k]; ok {
						t.Errorf("layer %d has annotation %s", i, k)
					}
				}
				rc, _ := layers[i].Compressed()
				b, _ := io.ReadAll(rc)
				rc.Close()
				if len(b) == 0 {
					t.Errorf("layer %d has no payload", i)
				}
			}
			cf, err := img.ConfigFile()
			if err != nil || len(cf.RootFS.DiffIDs) != len(m.Layers) {
				t.Errorf("config rootfs does not list the layers: %v", err)
			}
		})
	}
}

func TestWriteLegacyRejectsUnknownKind(t *testing.T) {
	subject := pushSubject(t, false)
	err := WriteLegacy(context.Background(), subject, []Legacy{{Kind: "bogus"}})
	if err == nil || !strings.Contains(err.Error(), subject.String()) {
		t.Fatalf("err = %v, want one naming the subject", err)
	}
}

func TestWriteBundle(t *testing.T) {
	tests := []struct {
		name      string
		referrers bool
		// listed is the artifactType the referrers list reports. ggcr's
		// in-process registry reports the config media type instead of the
		// manifest's artifactType (real registries report artifactType), so
		// readers must not filter the list on artifactType alone.
		listed string
	}{
		{"registry with the referrers API", true, emptyConfigMediaType},
		{"registry without it: referrers tag fallback", false, BundleMediaType},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			subject := pushSubject(t, tc.referrers)
			subjDesc, err := remote.Head(subject)
			if err != nil {
				t.Fatal(err)
			}
			bundle := []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}`)
			preds := []string{CosignSignPredicateType, "https://slsa.dev/provenance/v1"}
			var written []v1.Hash
			for _, p := range preds {
				h, err := WriteBundle(ctx, subject, append(bundle, p...), p)
				if err != nil {
					t.Fatal(err)
				}
				written = append(written, h)
			}

			idx, err := remote.Referrers(subject)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(im.Manifests) != len(preds) {
				t.Fatalf("%d referrers, want %d", len(im.Manifests), len(preds))
			}
			for _, d := range im.Manifests {
				if d.ArtifactType != tc.listed {
					t.Errorf("referrer artifactType %q", d.ArtifactType)
				}
				if d.Annotations[AnnotationBundleContent] != "dsse-envelope" || d.Annotations[AnnotationBundlePredicate] == "" {
					t.Errorf("referrer annotations %v", d.Annotations)
				}
			}

			for i, h := range written {
				ref := subject.Context().Digest(h.String())
				desc, err := remote.Get(ref)
				if err != nil {
					t.Fatal(err)
				}
				m, err := v1.ParseManifest(strings.NewReader(string(desc.Manifest)))
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case m.MediaType != types.OCIManifestSchema1, m.ArtifactType != BundleMediaType:
					t.Errorf("manifest %s artifactType %s", m.MediaType, m.ArtifactType)
				case m.Config.MediaType != "application/vnd.oci.empty.v1+json" || m.Config.Size != 2:
					t.Errorf("config %+v, want the OCI empty descriptor", m.Config)
				case len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType:
					t.Errorf("layers %+v", m.Layers)
				case m.Subject == nil || m.Subject.Digest != subjDesc.Digest || m.Subject.MediaType != subjDesc.MediaType || m.Subject.Size != subjDesc.Size:
					t.Errorf("subject %+v, want %+v", m.Subject, subjDesc)
				case m.Annotations[AnnotationBundlePredicate] != preds[i] || m.Annotations["org.opencontainers.image.created"] == "":
					t.Errorf("annotations %v", m.Annotations)
				}
				layer, err := remote.Layer(subject.Context().Digest(m.Layers[0].Digest.String()))
				if err != nil {
					t.Fatal(err)
				}
				rc, _ := layer.Compressed()
				b, _ := io.ReadAll(rc)
				rc.Close()
				if string(b) != string(bundle)+preds[i] {
					t.Errorf("layer content %q", b)
				}
			}

			// Without the referrers API the fallback tag holds the index;
			// with it, no tag is created.
			fallback := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
			_, err = remote.Index(fallback)
			if tc.referrers && err == nil {
				t.Error("fallback tag written although the registry has the referrers API")
			}
			if !tc.referrers && err != nil {
				t.Errorf("fallback tag: %v", err)
			}
		})
	}
}
