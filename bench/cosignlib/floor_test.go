package cosignlib_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/ocisig"
)

// floor is the least a verification of the world's image can cost: the
// registry requests it needs in their dependency order (the tag; then, at
// once, each legacy tag's manifest then blob and the referrers listing
// then each bundle's manifest then blob), on a kept-alive client that
// parses nothing, and two ECDSA P-256 checks. The URLs are found once,
// before timing.
type floor struct {
	client *http.Client
	tag    string
	chains [][]string // each chain's URLs, fetched in order; chains at once
	fanout []string   // fetched at once after the first URL of the last chain
	key    *ecdsa.PublicKey
	hash   []byte
	sig    []byte
}

func newFloor(b *testing.B, w *world, layout ocisig.Layout) *floor {
	d, err := name.NewDigest(mustDigest(b, w))
	if err != nil {
		b.Fatal(err)
	}
	h, _ := v1.NewHash(d.DigestStr())
	repo := d.Context().RepositoryStr()
	base := "http://" + w.w.Registry + "/v2/" + repo + "/"
	f := &floor{client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}, tag: base + "manifests/1", key: &w.w.Key.PublicKey}
	legacy := func(k ocisig.Kind) []string {
		u := base + "manifests/" + ocisig.LegacyTag(h, k)
		if layout != ocisig.LayoutLegacy {
			return []string{u} // a 404
		}
		img, err := remote.Image(d.Context().Tag(ocisig.LegacyTag(h, k)))
		if err != nil {
			b.Fatal(err)
		}
		m, _ := img.Manifest()
		return []string{u, base + "blobs/" + m.Layers[0].Digest.String()}
	}
	// The referrers: the API's listing, or, on a registry without the API,
	// the sha256-<hex> tag a client that knows it reads at once.
	referrers := base + "referrers/" + d.DigestStr()
	if !w.referrersAPI {
		referrers = base + "manifests/" + strings.Replace(d.DigestStr(), ":", "-", 1)
	}
	f.chains = [][]string{legacy(ocisig.KindSignature), legacy(ocisig.KindAttestation), {referrers}}
	if layout == ocisig.LayoutBundle {
		idx, err := remote.Referrers(d)
		if err != nil {
			b.Fatal(err)
		}
		im, _ := idx.IndexManifest()
		for _, desc := range im.Manifests {
			img, err := remote.Image(d.Context().Digest(desc.Digest.String()))
			if err != nil {
				b.Fatal(err)
			}
			m, _ := img.Manifest()
			f.fanout = append(f.fanout, base+"manifests/"+desc.Digest.String(), base+"blobs/"+m.Layers[0].Digest.String())
		}
	}
	sum := sha256.Sum256([]byte("payload"))
	f.hash = sum[:]
	if f.sig, err = ecdsa.SignASN1(rand.Reader, w.w.Key, f.hash); err != nil {
		b.Fatal(err)
	}
	return f
}

func mustDigest(b *testing.B, w *world) string {
	desc, err := remote.Head(mustRef(b, w.image))
	if err != nil {
		b.Fatal(err)
	}
	return w.image[:len(w.image)-len(":1")] + "@" + desc.Digest.String()
}

func mustRef(b *testing.B, s string) name.Reference {
	r, err := name.ParseReference(s)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

func (f *floor) get(method, url string) error {
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json")
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	return err
}

func (f *floor) op(*world) error {
	if err := f.get(http.MethodHead, f.tag); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(f.chains)+len(f.fanout))
	chain := func(urls ...string) {
		for _, u := range urls {
			if err := f.get(http.MethodGet, u); err != nil {
				errs <- err
				return
			}
		}
	}
	for i, c := range f.chains {
		wg.Add(1)
		go func() {
			defer wg.Done()
			chain(c...)
			if i < len(f.chains)-1 {
				return
			}
			for j := 0; j < len(f.fanout); j += 2 { // the referrers' bundles
				wg.Add(1)
				go func() { defer wg.Done(); chain(f.fanout[j], f.fanout[j+1]) }()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for range 2 {
		if !ecdsa.VerifyASN1(f.key, f.hash, f.sig) {
			return fmt.Errorf("floor: signature check failed")
		}
	}
	return nil
}
