package release

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Config is one release build.
type Config struct {
	Module  string // repository root
	Dist    string // output directory (emptied first)
	Version string // v0.2.0, or a snapshot version
	Commit  string
	Epoch   time.Time // SOURCE_DATE_EPOCH: every timestamp in every artifact
	// Binaries and ImagePlatforms default to the full matrix (Matrix,
	// ImagePlatforms); each image needs its binary for every image platform.
	Binaries       []Binary
	ImagePlatforms []string
	// Prefix names the images (<prefix>/signet-enforce:<tag>); Push, when
	// set, pushes them there.
	Prefix   string
	Push     bool
	Remote   []remote.Option
	CacheDir string // apt state, .deb files, the SBOM generator
	Identity Identity
	Log      func(format string, args ...any)
}

// Manifest is what a release produced (dist/release.json).
type Manifest struct {
	Version string           `json:"version"`
	Commit  string           `json:"commit"`
	Epoch   int64            `json:"sourceDateEpoch"`
	Files   []string         `json:"files"` // listed in SHA256SUMS
	Images  []PublishedImage `json:"images"`
	Chart   string           `json:"chart"`
	// ChartOCI is the chart as an OCI artifact (oci://<prefix>/charts/
	// signet-enforce), pushed with the images and signed like them.
	ChartOCI PublishedImage `json:"chartOCI"`
	Packages []Package      `json:"basePackages"` // linux/amd64's
}

// Run builds the release into cfg.Dist: binaries, their SBOMs, the images
// (OCI layout under dist/oci, pushed when cfg.Push), their SBOMs, the chart
// pinned to the enforce image's digest, SHA256SUMS, release notes and the
// trust file they print.
func Run(ctx context.Context, cfg Config) (*Manifest, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	logf := cfg.Log
	if err := os.RemoveAll(cfg.Dist); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Dist, 0o755); err != nil {
		return nil, err
	}
	m := &Manifest{Version: cfg.Version, Commit: cfg.Commit, Epoch: cfg.Epoch.Unix()}
	bo := BuildOptions{Module: cfg.Module, Version: cfg.Version, Commit: cfg.Commit, Epoch: cfg.Epoch}
	cdxBin, err := CycloneDXGomod.Ensure(ctx, logf)
	if err != nil {
		return nil, err
	}
	sbom := SBOMGenerator{Bin: cdxBin, Epoch: cfg.Epoch}
	bins := map[string]string{}   // file -> path
	boms := map[string]*cdx.BOM{} // file -> its SBOM (the images' start from it)
	for _, b := range cfg.Binaries {
		t0 := time.Now()
		out := filepath.Join(cfg.Dist, b.File())
		if err := GoBuild(ctx, b, out, bo); err != nil {
			return nil, err
		}
		bom, err := sbom.Binary(ctx, out, cfg.Version)
		if err != nil {
			return nil, err
		}
		if err := WriteSBOM(out+".cdx.json", bom); err != nil {
			return nil, err
		}
		bins[b.File()], boms[b.File()] = out, bom
		m.Files = append(m.Files, b.File(), b.File()+".cdx.json")
		logf("release: %s in %s", b.File(), time.Since(t0).Round(time.Millisecond))
	}
	if err := cfg.images(ctx, m, bins, boms, sbom); err != nil {
		return nil, err
	}
	return m, cfg.finish(m)
}

func (cfg *Config) images(ctx context.Context, m *Manifest, bins map[string]string, boms map[string]*cdx.BOM, sbom SBOMGenerator) error {
	var arches []string
	for _, p := range cfg.ImagePlatforms {
		arches = append(arches, strings.TrimPrefix(p, "linux/"))
	}
	f := &Fetcher{Source: Debian, Dir: filepath.Join(cfg.CacheDir, "apt"), Log: cfg.Log}
	debs, err := f.Fetch(ctx, arches, append(append([]string{}, BasePackages...), ShellPackages...))
	if err != nil {
		return err
	}
	var built []*BuiltImage
	for _, spec := range Images {
		in := ImageInputs{Version: cfg.Version, Commit: cfg.Commit, Source: SourceURL, Epoch: cfg.Epoch, Debs: debs,
			Binaries: map[string]string{}, Plugins: map[string]string{}}
		for _, p := range cfg.ImagePlatforms {
			path, ok := bins[Binary{Name: spec.Binary, Platform: p}.File()]
			if !ok {
				return fmt.Errorf("image platform %s has no %s binary: add it to the binary platforms", p, spec.Binary)
			}
			in.Binaries[p] = path
			if spec.Plugin != "" {
				if in.Plugins[p], ok = bins[Binary{Name: spec.Plugin, Platform: p}.File()]; !ok {
					return fmt.Errorf("image platform %s has no %s binary: add it to the binary platforms", p, spec.Plugin)
				}
			}
		}
		img, err := BuildImage(spec, in)
		if err != nil {
			return err
		}
		built = append(built, img)
		ref := cfg.Prefix + "/" + spec.Name(cfg.Version)
		pub, err := Describe(img, cfg.Version, ref)
		if err != nil {
			return err
		}
		if cfg.Push {
			t0 := time.Now()
			if err := Push(ctx, img.Index, ref, cfg.Remote...); err != nil {
				return err
			}
			cfg.Log("release: pushed %s@%s in %s", ref, pub.Digest, time.Since(t0).Round(time.Millisecond))
		}
		if err := cfg.imageSBOMs(m, img, pub, boms, sbom); err != nil {
			return err
		}
		m.Images = append(m.Images, pub)
	}
	m.Packages = built[len(built)-1].Packages[cfg.ImagePlatforms[0]]
	return WriteLayout(filepath.Join(cfg.Dist, "oci"), built, cfg.Version)
}

func (cfg *Config) imageSBOMs(m *Manifest, img *BuiltImage, pub PublishedImage, boms map[string]*cdx.BOM, g SBOMGenerator) error {
	for _, p := range cfg.ImagePlatforms {
		bom := boms[Binary{Name: img.Spec.Binary, Platform: p}.File()]
		var plugins []*cdx.BOM
		if img.Spec.Plugin != "" {
			plugins = append(plugins, boms[Binary{Name: img.Spec.Plugin, Platform: p}.File()])
		}
		file := img.Spec.SBOMFile(p)
		if err := WriteSBOM(filepath.Join(cfg.Dist, file), g.Image(bom, pub.Reference, pub.Platforms[p], img.Packages[p], plugins...)); err != nil {
			return err
		}
		m.Files = append(m.Files, file)
	}
	return nil
}

// finish writes the chart, the notes, the trust file, SHA256SUMS and release.json.
func (cfg *Config) finish(m *Manifest) error {
	enforce := m.Images[0]
	chart, err := PackageChart(cfg.Module, cfg.Dist, cfg.Prefix+"/"+Images[0].Repository, Images[0].Tag(cfg.Version), enforce.Digest, cfg.Epoch)
	if err != nil {
		return err
	}
	m.Chart = chart
	chartYAML, err := os.ReadFile(filepath.Join(cfg.Module, ChartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	chartVersion, _, err := ChartVersions(chartYAML)
	if err != nil {
		return err
	}
	if m.ChartOCI, err = cfg.chartArtifact(chart, chartYAML, chartVersion); err != nil {
		return err
	}
	n := Notes{Version: cfg.Version, ChartVersion: chartVersion, Prefix: cfg.Prefix, Images: m.Images, Chart: chart,
		ChartOCI: m.ChartOCI, Identity: cfg.Identity, Packages: m.Packages}
	notes, err := n.Render()
	if err != nil {
		return err
	}
	trust, err := n.TrustSnippet()
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"RELEASE_NOTES.md": notes, "signet-trust.yaml": trust} {
		if err := os.WriteFile(filepath.Join(cfg.Dist, name), b, 0o644); err != nil {
			return err
		}
	}
	m.Files = append(m.Files, chart, "signet-trust.yaml")
	sort.Strings(m.Files)
	if _, err := WriteChecksums(cfg.Dist, m.Files); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.Dist, "release.json"), append(b, '\n'), 0o644)
}

// chartArtifact wraps the packaged chart as an OCI artifact and, with
// Push, pushes it to <prefix>/charts/signet-enforce:<chart version>.
func (cfg *Config) chartArtifact(file string, chartYAML []byte, version string) (PublishedImage, error) {
	tgz, err := os.ReadFile(filepath.Join(cfg.Dist, file))
	if err != nil {
		return PublishedImage{}, err
	}
	art, err := NewOCIChart(tgz, chartYAML, cfg.Epoch)
	if err != nil {
		return PublishedImage{}, err
	}
	name := ChartRepository + ":" + version
	pub := PublishedImage{Name: name, Reference: cfg.Prefix + "/" + name, Digest: art.Digest.String()}
	if cfg.Push {
		if err := art.Push(context.Background(), pub.Reference, cfg.Remote...); err != nil {
			return PublishedImage{}, err
		}
		cfg.Log("release: pushed %s@%s", pub.Reference, pub.Digest)
	}
	return pub, nil
}

func (cfg *Config) defaults() error {
	if cfg.Module == "" || cfg.Dist == "" || cfg.Version == "" {
		return fmt.Errorf("release: Module, Dist and Version are required")
	}
	if len(cfg.Binaries) == 0 {
		cfg.Binaries = Matrix()
	}
	if len(cfg.ImagePlatforms) == 0 {
		cfg.ImagePlatforms = ImagePlatforms
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "ghcr.io/signet-dev"
	}
	if cfg.Identity == (Identity{}) {
		cfg.Identity = GitHubIdentity
	}
	if cfg.Log == nil {
		cfg.Log = func(string, ...any) {}
	}
	if cfg.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		cfg.CacheDir = filepath.Join(d, "signet", "release")
	}
	return nil
}
