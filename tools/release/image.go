package release

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ImageSpec describes one of signet's images.
type ImageSpec struct {
	Repository string // e.g. signet-enforce (appended to the registry prefix)
	TagSuffix  string // e.g. -shell: the tag is <version><suffix>
	Binary     string // sign, enforce or signet-node
	// Plugin, when set, is a second binary of the release installed beside
	// Binary with links of these names to it (sign's signet-kms, under the
	// sigstore-kms-* names sigstore's KMS plugin protocol runs).
	Plugin      string
	PluginLinks []string
	Shell       bool // busybox as /bin/sh and its applets
	Cmd         []string
	Ports       []string
	Title       string
}

// Path of the binary inside every image.
func (s ImageSpec) entrypoint() string { return "/usr/local/bin/" + s.Binary }

// SBOMFile is the release asset holding the image's SBOM for platform:
// "signet-enforce_linux_amd64.cdx.json". An image named like its binary
// (signet-node) says "image", so the two SBOMs never share a name.
func (s ImageSpec) SBOMFile(platform string) string {
	name := s.Repository + s.TagSuffix
	if name == s.Binary {
		name += "-image"
	}
	return strings.ReplaceAll(name+"_"+platform, "/", "_") + ".cdx.json"
}

// Tag is the image tag for a version.
func (s ImageSpec) Tag(version string) string { return version + s.TagSuffix }

// Name is "<repository>:<tag>", the OCI layout's ref name.
func (s ImageSpec) Name(version string) string { return s.Repository + ":" + s.Tag(version) }

// Images are the images of a release.
var Images = []ImageSpec{
	{Repository: "signet-enforce", Binary: "enforce", Cmd: []string{"serve"}, Ports: []string{"8443/tcp", "9090/tcp"},
		Title: "signet enforce: the admission webhook"},
	{Repository: "signet-sign", Binary: "sign", Plugin: "signet-kms", PluginLinks: signKMSLinks,
		Title: "signet sign: sign, attest and verify images"},
	{Repository: "signet-sign", TagSuffix: "-shell", Binary: "sign", Plugin: "signet-kms", PluginLinks: signKMSLinks, Shell: true,
		Title: "signet sign with a POSIX shell (busybox), for CI jobs that run scripts in the image"},
	{Repository: "signet-node", Binary: "signet-node", Cmd: []string{"run"}, Ports: []string{"9091/tcp"},
		Title: "signet-node: the NRI plugin, the node refuses containers the trust file refuses"},
}

// signKMSLinks are the names sign runs for awskms://, azurekms://, gcpkms://
// and hashivault:// keys (internal/kmsplugin.Schemes).
var signKMSLinks = []string{"sigstore-kms-awskms", "sigstore-kms-azurekms", "sigstore-kms-gcpkms", "sigstore-kms-hashivault"}

// ImageInputs is what an image is built from, per platform.
type ImageInputs struct {
	Version, Commit, Source string
	Epoch                   time.Time
	// Binaries: platform ("linux/amd64") -> path of the static binary.
	Binaries map[string]string
	// Plugins: platform -> path of the spec's Plugin binary (when it has one).
	Plugins map[string]string
	// Debs: architecture ("amd64") -> the base's packages.
	Debs map[string][]*Deb
}

// BuiltImage is an image index and what went into each platform.
type BuiltImage struct {
	Spec     ImageSpec
	Index    v1.ImageIndex
	Packages map[string][]Package // platform -> Debian packages in its base
}

// BuildImage assembles the multi-platform image of spec: per platform a
// base layer (Debian packages, users) and an application layer (the binary),
// a config running the binary as nonroot, and an OCI index over them.
func BuildImage(spec ImageSpec, in ImageInputs) (*BuiltImage, error) {
	platforms := make([]string, 0, len(in.Binaries))
	for p := range in.Binaries {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	out := &BuiltImage{Spec: spec, Packages: map[string][]Package{}}
	for _, p := range platforms {
		img, pkgs, err := platformImage(spec, in, p)
		if err != nil {
			return nil, fmt.Errorf("image %s for %s: %w", spec.Name(in.Version), p, err)
		}
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
		out.Packages[p] = pkgs
	}
	out.Index = mutate.Annotations(idx, annotations(spec, in)).(v1.ImageIndex)
	return out, nil
}

func annotations(spec ImageSpec, in ImageInputs) map[string]string {
	a := map[string]string{
		"org.opencontainers.image.title":    spec.Title,
		"org.opencontainers.image.version":  in.Version,
		"org.opencontainers.image.created":  in.Epoch.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":   in.Source,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	if in.Commit != "" {
		a["org.opencontainers.image.revision"] = in.Commit
	}
	return a
}

func platformImage(spec ImageSpec, in ImageInputs, platform string) (v1.Image, []Package, error) {
	goos, arch, _ := strings.Cut(platform, "/")
	if goos != "linux" {
		return nil, nil, fmt.Errorf("images are linux only")
	}
	base, pkgs, err := baseTree(in.Debs[arch], spec.Shell)
	if err != nil {
		return nil, nil, err
	}
	baseLayer, err := base.layer(in.Epoch)
	if err != nil {
		return nil, nil, err
	}
	bin, err := os.ReadFile(in.Binaries[platform])
	if err != nil {
		return nil, nil, err
	}
	app := tree{}
	app.add(file(spec.entrypoint(), 0o755, bin))
	if spec.Plugin != "" {
		plugin, err := os.ReadFile(in.Plugins[platform])
		if err != nil {
			return nil, nil, fmt.Errorf("plugin %s: %w", spec.Plugin, err)
		}
		app.add(file("/usr/local/bin/"+spec.Plugin, 0o755, plugin))
		for _, l := range spec.PluginLinks {
			app.add(symlink("/usr/local/bin/"+l, spec.Plugin))
		}
	}
	appLayer, err := app.layer(in.Epoch)
	if err != nil {
		return nil, nil, err
	}
	created := v1.Time{Time: in.Epoch.UTC()}
	var names []string
	for _, p := range pkgs {
		names = append(names, p.Name+" "+p.Version)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: baseLayer, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "signet release: base from Debian packages (" + strings.Join(names, ", ") + "), users root and nonroot"}},
		mutate.Addendum{Layer: appLayer, MediaType: types.OCILayer, History: v1.History{Created: created,
			CreatedBy: "signet release: " + spec.entrypoint() + " " + in.Version}},
	)
	if err != nil {
		return nil, nil, err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = goos, arch, created
	cf.Config.User = fmt.Sprintf("%d:%d", NonrootUID, NonrootUID)
	cf.Config.WorkingDir = NonrootHome
	cf.Config.Entrypoint = []string{spec.entrypoint()}
	cf.Config.Cmd = spec.Cmd
	cf.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + CABundle, "HOME=" + NonrootHome}
	cf.Config.Labels = annotations(spec, in)
	if len(spec.Ports) > 0 {
		cf.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range spec.Ports {
			cf.Config.ExposedPorts[p] = struct{}{}
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	return img, pkgs, err
}
