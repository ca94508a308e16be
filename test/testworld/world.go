// Package testworld builds a complete, in-process verification world for
// tests and the demo: a real OCI registry (go-containerregistry's, with the
// referrers API on or off), a private Sigstore (sigstoretest) whose trusted
// root is written to disk, a signing key, and a trust policy that points at
// both. Helpers push images and attach signatures and attestations in
// either layout, exactly as cosign v2 (legacy) and cosign v3 (bundle) do.
package testworld

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/signet-dev/signet/ocisig"
	"github.com/signet-dev/signet/test/sigstoretest"
)

// TB is the part of testing.TB the world needs, so the demo can build a
// world outside a test.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}

// World is one registry, one private Sigstore, one trusted key and one
// trust policy.
type World struct {
	t        TB
	Registry string // host:port of the registry
	Server   *httptest.Server
	Sigstore *sigstoretest.Sigstore
	// Key is the private half of the policy's "release-key" identity.
	Key *ecdsa.PrivateKey
	// Dir holds trust.yaml, trusted_root.json and cosign.pub.
	Dir        string
	PolicyPath string
	writeOpts  []remote.Option
}

// TLSClientConfig trusts the registry's certificate (nil unless Options.TLS).
func (w *World) TLSClientConfig() *tls.Config {
	if w.Server.TLS == nil {
		return nil
	}
	return w.Server.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
}

// Options configure New.
type Options struct {
	// NoReferrers runs the registry without the OCI 1.1 referrers API, so
	// bundles are found through the sha256-<hex> referrers tag.
	NoReferrers bool
	// Policy replaces the default trust policy template (REGISTRY is
	// replaced by the registry host).
	Policy string
	// Wrap, if set, wraps the registry handler (to count or fail requests).
	Wrap func(http.Handler) http.Handler
	// Counter, if set, counts the registry's requests and connections.
	Counter *Counter
	// TLS serves the registry over HTTPS with HTTP/2, as remote registries
	// are; clients trust it through World.TLSClientConfig.
	TLS bool
	// Registry, if set, is the host of a registry to use instead of an
	// in-process one (the stack's distribution): NoReferrers, Wrap,
	// Counter and TLS do not apply, and World.Server is nil.
	Registry string
}

// New starts a world; everything is torn down by t.Cleanup.
func New(t TB, o Options) *World {
	t.Helper()
	var srv *httptest.Server
	host := o.Registry
	if host == "" {
		srv = startRegistry(t, o)
		host = srv.Listener.Addr().String()
	}
	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	w := &World{t: t, Registry: host, Server: srv, Sigstore: ss, Key: key, Dir: t.TempDir()}
	rootJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	w.write("trusted_root.json", rootJSON)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	w.write("cosign.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	tmpl := o.Policy
	if tmpl == "" {
		tmpl = DefaultPolicy
	}
	w.writeOpts = []remote.Option{auth}
	if o.TLS && srv != nil {
		w.writeOpts = append(w.writeOpts, remote.WithTransport(srv.Client().Transport))
	}
	w.PolicyPath = w.write("trust.yaml", []byte(strings.ReplaceAll(tmpl, "REGISTRY", w.Registry)))
	return w
}

// startRegistry starts the in-process registry o describes.
func startRegistry(t TB, o Options) *httptest.Server {
	regOpts := []registry.Option{registry.Logger(log.New(io.Discard, "", 0))}
	if !o.NoReferrers {
		regOpts = append(regOpts, registry.WithReferrersSupport(true))
	}
	var h http.Handler = registry.New(regOpts...)
	if o.Wrap != nil {
		h = o.Wrap(h)
	}
	srv := httptest.NewUnstartedServer(h)
	if o.Counter != nil {
		srv.Config.Handler = o.Counter.wrap(h)
		srv.Config.ConnState = o.Counter.connState
	}
	if o.TLS {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func (w *World) write(name string, data []byte) string {
	p := filepath.Join(w.Dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// SetPolicy rewrites trust.yaml (REGISTRY is replaced by the registry host).
func (w *World) SetPolicy(tmpl string) {
	w.write("trust.yaml", []byte(strings.ReplaceAll(tmpl, "REGISTRY", w.Registry)))
}

// Ref returns "host:port/repo".
func (w *World) Ref(repo string) string { return w.Registry + "/" + repo }

// Push writes a random image to repo:tag and returns its digest reference.
func (w *World) Push(repoTag string) name.Digest {
	w.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.PushImage(repoTag, img)
}

// PushImage writes img to repo:tag.
func (w *World) PushImage(repoTag string, img v1.Image) name.Digest {
	w.t.Helper()
	tag, err := name.NewTag(w.Ref(repoTag))
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(tag, img, w.writeOpts...); err != nil {
		w.t.Fatal(err)
	}
	h, err := img.Digest()
	if err != nil {
		w.t.Fatal(err)
	}
	return tag.Context().Digest(h.String())
}

// PushIndex writes a two-platform index to repo:tag and returns the index
// digest and the child digests.
func (w *World) PushIndex(repoTag string) (name.Digest, []name.Digest) {
	w.t.Helper()
	return w.PushPlatforms(repoTag, 2)
}

// PushPlatforms writes an index of n linux platforms (amd64, arm64, then
// variants of arm) to repo:tag and returns the index digest and the child
// digests.
func (w *World) PushPlatforms(repoTag string, n int) (name.Digest, []name.Digest) {
	w.t.Helper()
	tag, err := name.NewTag(w.Ref(repoTag))
	if err != nil {
		w.t.Fatal(err)
	}
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var children []name.Digest
	for i := range n {
		platform := &v1.Platform{OS: "linux", Architecture: "amd64"}
		if i > 0 {
			platform = &v1.Platform{OS: "linux", Architecture: "arm64"}
		}
		if i > 1 {
			platform.Variant = fmt.Sprintf("v%d", i)
		}
		img, err := random.Image(128, 1)
		if err != nil {
			w.t.Fatal(err)
		}
		h, _ := img.Digest()
		children = append(children, tag.Context().Digest(h.String()))
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: platform}})
	}
	if err := remote.WriteIndex(tag, idx, w.writeOpts...); err != nil {
		w.t.Fatal(err)
	}
	h, _ := idx.Digest()
	return tag.Context().Digest(h.String()), children
}

// GitHub returns a keyless signer for the trusted GitHub identity on ref.
func (w *World) GitHub(repo, ref string, opts ...sigstoretest.SignerOption) *sigstoretest.Signer {
	return w.signer(sigstoretest.GitHub(repo, ".github/workflows/release.yml", ref), opts...)
}

// GitLab returns a keyless signer for a GitLab project on ref.
func (w *World) GitLab(project, ref string, opts ...sigstoretest.SignerOption) *sigstoretest.Signer {
	return w.signer(sigstoretest.GitLab(project, ref), opts...)
}

func (w *World) signer(id sigstoretest.Identity, opts ...sigstoretest.SignerOption) *sigstoretest.Signer {
	w.t.Helper()
	s, err := w.Sigstore.Signer(id, opts...)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// KeySigner signs with the world's trusted key, or with another key.
func (w *World) KeySigner(key *ecdsa.PrivateKey) *sigstoretest.Signer {
	w.t.Helper()
	if key == nil {
		key = w.Key
	}
	s, err := w.Sigstore.KeySigner(key, sigstoretest.WithoutTlog())
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// Sign attaches a signature by s for payloadFor (normally the digest itself)
// to subject, in the given layout.
func (w *World) Sign(subject, payloadFor name.Digest, s *sigstoretest.Signer, layout ocisig.Layout) {
	w.t.Helper()
	h, err := v1.NewHash(payloadFor.DigestStr())
	if err != nil {
		w.t.Fatal(err)
	}
	switch layout {
	case ocisig.LayoutLegacy:
		l, err := s.SignLegacy(sigstoretest.SimpleSigning(payloadFor))
		if err != nil {
			w.t.Fatal(err)
		}
		w.must(ocisig.WriteLegacy(context.Background(), subject, []ocisig.Legacy{l}, w.writeOpts...))
	case ocisig.LayoutBundle:
		b, err := s.SignBundle(sigstoretest.Statement(h, ocisig.CosignSignPredicateType, nil))
		if err != nil {
			w.t.Fatal(err)
		}
		_, err = ocisig.WriteBundle(context.Background(), subject, b, ocisig.CosignSignPredicateType, w.writeOpts...)
		w.must(err)
	default:
		w.t.Fatalf("unknown layout %q", layout)
	}
}

// Attest attaches an in-toto statement about statementFor, signed by s, to subject.
func (w *World) Attest(subject, statementFor name.Digest, s *sigstoretest.Signer, layout ocisig.Layout, predicateType string, predicate any) {
	w.t.Helper()
	h, err := v1.NewHash(statementFor.DigestStr())
	if err != nil {
		w.t.Fatal(err)
	}
	st := sigstoretest.Statement(h, predicateType, predicate)
	switch layout {
	case ocisig.LayoutLegacy:
		l, err := s.AttestLegacy(st, predicateType)
		if err != nil {
			w.t.Fatal(err)
		}
		w.must(ocisig.WriteLegacy(context.Background(), subject, []ocisig.Legacy{l}, w.writeOpts...))
	case ocisig.LayoutBundle:
		b, err := s.SignBundle(st)
		if err != nil {
			w.t.Fatal(err)
		}
		_, err = ocisig.WriteBundle(context.Background(), subject, b, predicateType, w.writeOpts...)
		w.must(err)
	default:
		w.t.Fatalf("unknown layout %q", layout)
	}
}

func (w *World) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(fmt.Errorf("testworld: %w", err))
	}
}

// auth lets the world write to registries that need credentials (from the
// Docker config, as CI would), so tests can model private registries.
var auth = remote.WithAuthFromKeychain(authn.DefaultKeychain)

// Layouts lists both layouts, for table tests.
var Layouts = []ocisig.Layout{ocisig.LayoutLegacy, ocisig.LayoutBundle}

// WriteOptions are the options that write to the world's registry, for
// tests that write material of their own making.
func (w *World) WriteOptions() []remote.Option { return w.writeOpts }
