package release

import (
	"bytes"
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/signet-dev/signet/test/stack"
)

// CycloneDXGomod is the SBOM generator, built from the Go module proxy and
// cached by version with the test stack's servers (make stack builds it).
// It reads the module list Go embeds in every binary, so the SBOM lists
// exactly what was linked.
var CycloneDXGomod = stack.ToolCycloneDX

// SBOMGenerator writes CycloneDX SBOMs.
type SBOMGenerator struct {
	Bin   string // cyclonedx-gomod
	Epoch time.Time
}

// Binary returns the SBOM of a Go binary: its modules and the Go standard
// library, with the document's timestamp at the epoch and a serial number
// derived from the binary's digest, so a rebuild gives the same SBOM.
func (g SBOMGenerator) Binary(ctx context.Context, path, version string) (*cdx.BOM, error) {
	cmd := exec.CommandContext(ctx, g.Bin, "bin", "-json", "-std", "-noserial", "-notimestamp", "-version", version, path)
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cyclonedx-gomod bin %s: %w\n%s", filepath.Base(path), err, stderr.String())
	}
	bom := new(cdx.BOM)
	if err := cdx.NewBOMDecoder(&out, cdx.BOMFileFormatJSON).Decode(bom); err != nil {
		return nil, fmt.Errorf("reading the SBOM of %s: %w", path, err)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	g.stamp(bom, bin)
	return bom, nil
}

// Image returns the SBOM of one platform image: the binary's SBOM, with the
// image as the document's subject and the base's Debian packages added as
// components (package URLs pkg:deb/debian/...), each depending on nothing.
func (g SBOMGenerator) Image(binary *cdx.BOM, imageRef, digest string, pkgs []Package, plugins ...*cdx.BOM) *cdx.BOM {
	bom := *binary
	comps := append([]cdx.Component(nil), derefComponents(binary.Components)...)
	var deps []cdx.Dependency
	if binary.Dependencies != nil {
		deps = append(deps, *binary.Dependencies...)
	}
	app := *binary.Metadata.Component
	comps = append(comps, app)
	imageRefs := []string{app.BOMRef}
	comps, deps, imageRefs = addPlugins(comps, deps, imageRefs, plugins)
	for _, p := range pkgs {
		purl := fmt.Sprintf("pkg:deb/debian/%s@%s?arch=%s&distro=debian-12", p.Name, purlVersion.Replace(p.Version), p.Architecture)
		comps = append(comps, cdx.Component{
			BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: p.Name, Version: p.Version, PackageURL: purl,
			Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: p.SHA256}},
		})
		deps = append(deps, cdx.Dependency{Ref: purl})
		imageRefs = append(imageRefs, purl)
	}
	name, _, _ := strings.Cut(imageRef, ":")
	image := cdx.Component{
		BOMRef: "pkg:oci/" + filepath.Base(name) + "@" + digest, Type: cdx.ComponentTypeContainer,
		Name: imageRef, Version: digest, PackageURL: "pkg:oci/" + filepath.Base(name) + "@" + strings.ReplaceAll(digest, ":", "%3A"),
	}
	deps = append(deps, cdx.Dependency{Ref: image.BOMRef, Dependencies: &imageRefs})
	meta := *binary.Metadata
	meta.Component = &image
	bom.Metadata = &meta
	bom.Components = &comps
	bom.Dependencies = &deps
	g.stamp(&bom, []byte(imageRef+"@"+digest))
	return &bom
}

// addPlugins adds each plugin binary's SBOM to an image's: the binary
// itself (a dependency of the image), and its modules and dependency edges
// that the image does not list yet.
func addPlugins(comps []cdx.Component, deps []cdx.Dependency, imageRefs []string, plugins []*cdx.BOM) ([]cdx.Component, []cdx.Dependency, []string) {
	seen := map[string]bool{}
	for _, c := range comps {
		seen[c.BOMRef] = true
	}
	seenDep := map[string]bool{}
	for _, d := range deps {
		seenDep[d.Ref] = true
	}
	for _, pb := range plugins {
		for _, c := range append(derefComponents(pb.Components), *pb.Metadata.Component) {
			if !seen[c.BOMRef] {
				seen[c.BOMRef] = true
				comps = append(comps, c)
			}
		}
		if pb.Dependencies != nil {
			for _, d := range *pb.Dependencies {
				if !seenDep[d.Ref] {
					seenDep[d.Ref] = true
					deps = append(deps, d)
				}
			}
		}
		if ref := pb.Metadata.Component.BOMRef; !slices.Contains(imageRefs, ref) {
			imageRefs = append(imageRefs, ref)
		}
	}
	return comps, deps, imageRefs
}

// purlVersion percent-encodes what a package URL's version may not carry
// as is (a Debian epoch's colon, the plus of a binNMU).
var purlVersion = strings.NewReplacer(":", "%3A", "+", "%2B")

func derefComponents(c *[]cdx.Component) []cdx.Component {
	if c == nil {
		return nil
	}
	return *c
}

// stamp sets the reproducible timestamp and a name-based (v5-style) serial
// number derived from the subject's bytes.
func (g SBOMGenerator) stamp(bom *cdx.BOM, subject []byte) {
	if bom.Metadata == nil {
		bom.Metadata = &cdx.Metadata{}
	}
	bom.Metadata.Timestamp = g.Epoch.UTC().Format(time.RFC3339)
	h := sha1.Sum(append([]byte("signet-sbom:"), subject...))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// WriteSBOM encodes bom as CycloneDX JSON.
func WriteSBOM(path string, bom *cdx.BOM) error {
	var b bytes.Buffer
	enc := cdx.NewBOMEncoder(&b, cdx.BOMFileFormatJSON)
	enc.SetPretty(true)
	if err := enc.Encode(bom); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
