package release

import (
	"slices"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// TestImageSBOMListsThePlugin: an image that ships a plugin beside its
// binary (signet-sign: signet-kms) lists the plugin and the modules only it
// links, so the SBOM covers every executable in the image.
func TestImageSBOMListsThePlugin(t *testing.T) {
	bom := func(main string, mods ...string) *cdx.BOM {
		var comps []cdx.Component
		for _, m := range mods {
			comps = append(comps, cdx.Component{BOMRef: m, Name: m})
		}
		return &cdx.BOM{Metadata: &cdx.Metadata{Component: &cdx.Component{BOMRef: main, Name: main}}, Components: &comps,
			Dependencies: &[]cdx.Dependency{{Ref: main, Dependencies: &mods}}}
	}
	sign := bom("pkg:golang/sign", "pkg:golang/sigstore-go")
	kms := bom("pkg:golang/signet-kms", "pkg:golang/sigstore-go", "pkg:golang/aws-sdk-go-v2")
	img := SBOMGenerator{Epoch: time.Unix(1700000000, 0)}.Image(sign, "signet-sign:v1", "sha256:abc", nil, kms)
	var refs []string
	for _, c := range *img.Components {
		refs = append(refs, c.BOMRef)
	}
	for _, want := range []string{"pkg:golang/sign", "pkg:golang/signet-kms", "pkg:golang/aws-sdk-go-v2"} {
		if !slices.Contains(refs, want) {
			t.Errorf("image SBOM does not list %s: %v", want, refs)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(refs), func(r string) bool { return r != "pkg:golang/sigstore-go" })); n != 1 {
		t.Errorf("a module both binaries link is listed %d times", n)
	}
	for _, d := range *img.Dependencies {
		if d.Ref == img.Metadata.Component.BOMRef && !slices.Contains(*d.Dependencies, "pkg:golang/signet-kms") {
			t.Errorf("the image does not depend on the plugin: %v", *d.Dependencies)
		}
	}
}
