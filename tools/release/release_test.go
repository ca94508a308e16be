package release

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// testBinaries is what make test builds: every command for the image
// platforms (the images need them) and sign for darwin/arm64 (the other
// OS). darwin/amd64 differs from both only in a pair already covered, and
// each further cold cross-compile costs CI's first run minutes (see the
// CI budget in docs/development.md); the release workflow builds the whole Matrix on a
// tag, before anything is signed or published.
const testBinaries = "sign/linux/amd64,sign/linux/arm64,sign/darwin/arm64,enforce/linux/amd64,enforce/linux/arm64,signet-kms/linux/amd64,signet-kms/linux/arm64,signet-node/linux/amd64,signet-node/linux/arm64"

// makeRelease runs `make release` (snapshot) into dist.
func makeRelease(t *testing.T, dist string) time.Duration {
	t.Helper()
	t0 := time.Now()
	cmd := exec.Command("make", "-C", moduleRoot(t), "release", "DIST="+dist, "BINARIES="+testBinaries)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	t.Logf("make release into %s in %s:\n%s", dist, time.Since(t0).Round(time.Second), lastLines(out, 20))
	return time.Since(t0)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestMakeReleaseSnapshot runs `make release` twice from the same commit:
// the two dist/ trees are byte for byte the same (binaries, SBOMs, chart,
// notes, checksums and the OCI layout); the checksums match; this
// platform's binaries report the snapshot version; the layout's images are
// valid OCI indexes for linux/amd64 and linux/arm64, run as nonroot, and
// their entrypoints work when run from the unpacked image (enforce serve
// --help, sign version, and a POSIX shell in the -shell variant); every
// SBOM is CycloneDX and the image SBOMs list the base's Debian packages.
func TestMakeReleaseSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("builds release binaries (make unit runs -short; make test runs it)")
	}
	a, b := filepath.Join(t.TempDir(), "dist"), filepath.Join(t.TempDir(), "dist")
	first := makeRelease(t, a)
	second := makeRelease(t, b)
	t.Logf("first make release %s, second (warm Go cache) %s", first.Round(time.Second), second.Round(time.Second))
	compareTrees(t, a, b)

	var m Manifest
	raw, err := os.ReadFile(filepath.Join(a, "release.json"))
	if err != nil || json.Unmarshal(raw, &m) != nil {
		t.Fatalf("release.json: %v", err)
	}
	if !strings.Contains(m.Version, "-snapshot.") {
		t.Fatalf("a make release without VERSION built %q, want a snapshot version", m.Version)
	}
	cmd := exec.Command("sha256sum", "--check", "--strict", ChecksumsFile)
	cmd.Dir = a
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum --check: %v\n%s", err, out)
	}
	for _, name := range Commands {
		bin := filepath.Join(a, name+"_"+runtime.GOOS+"_"+runtime.GOARCH)
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), name+" "+m.Version+"\ncommit   "+m.Commit) {
			t.Errorf("%s version: %v\n%s", bin, err, out)
		}
	}
	checkLayout(t, filepath.Join(a, "oci"), m)
	checkSBOMs(t, a, m)
}

func compareTrees(t *testing.T, a, b string) {
	t.Helper()
	files := map[string][]byte{}
	filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(a, p)
			files[rel], _ = os.ReadFile(p)
		}
		return err
	})
	n := 0
	filepath.WalkDir(b, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(b, p)
		got, _ := os.ReadFile(p)
		if want, ok := files[rel]; !ok {
			t.Errorf("%s only in the second build", rel)
		} else if !bytes.Equal(want, got) {
			t.Errorf("%s differs between two builds of the same commit", rel)
		}
		n++
		return nil
	})
	if n != len(files) || n == 0 {
		t.Errorf("first build has %d files, second %d", len(files), n)
	}
}

func checkLayout(t *testing.T, dir string, m Manifest) {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != len(Images) {
		t.Fatalf("the layout holds %d images, want %d", len(tm.Manifests), len(Images))
	}
	for i, desc := range tm.Manifests {
		spec := Images[i]
		if got := desc.Annotations["org.opencontainers.image.ref.name"]; got != spec.Name(m.Version) {
			t.Errorf("layout entry %d is named %q, want %q", i, got, spec.Name(m.Version))
		}
		if desc.Digest.String() != m.Images[i].Digest {
			t.Errorf("%s: layout digest %s, release.json %s", spec.Name(m.Version), desc.Digest, m.Images[i].Digest)
		}
		idx, err := top.ImageIndex(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("%s is not a valid OCI index: %v", spec.Name(m.Version), err)
		}
		im, _ := idx.IndexManifest()
		var platforms []string
		for _, c := range im.Manifests {
			platforms = append(platforms, c.Platform.String())
		}
		if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
			t.Errorf("%s platforms %v", spec.Name(m.Version), platforms)
		}
		img, err := childImage(idx, "linux/"+runtime.GOARCH)
		if err != nil {
			t.Fatal(err)
		}
		runImage(t, spec, img, m.Version)
	}
}

// runImage runs the image's entrypoint from its unpacked rootfs, as its
// config's user (nonroot).
func runImage(t *testing.T, spec ImageSpec, img v1.Image, version string) {
	t.Helper()
	cf, _ := img.ConfigFile()
	if cf.Config.User != "65532:65532" {
		t.Errorf("%s runs as %q, want 65532:65532", spec.Name(version), cf.Config.User)
	}
	rootfs := t.TempDir()
	unpack(t, img, rootfs)
	check := func(entrypoint []string, args []string, want string) {
		t.Helper()
		out, err := runInImage(t, img, rootfs, entrypoint, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: %v %v: %v, want %q in:\n%s", spec.Name(version), entrypoint, args, err, want, out)
		}
	}
	if spec.Plugin != "" {
		check([]string{"/usr/local/bin/" + spec.Plugin}, []string{"version"}, spec.Plugin+" "+version)
		for _, l := range spec.PluginLinks {
			if target, err := os.Readlink(filepath.Join(rootfs, "usr", "local", "bin", l)); err != nil || target != spec.Plugin {
				t.Errorf("%s: /usr/local/bin/%s -> %q (%v), want a link to %s", spec.Name(version), l, target, err, spec.Plugin)
			}
		}
	}
	switch {
	case spec.Binary == "enforce":
		check(nil, []string{"serve", "--help"}, "--tls-cert")
	case spec.Binary == "signet-node":
		check(nil, []string{"run", "--help"}, "--nri-socket")
	case spec.Shell:
		check([]string{"/bin/sh"}, []string{"-c", "id -u; sign version; echo $HOME"}, "65532\nsign "+version)
	default:
		check(nil, []string{"version"}, "sign "+version)
		if _, err := os.Lstat(filepath.Join(rootfs, "bin", "sh")); err == nil {
			t.Errorf("%s has a shell; only the -shell variant may", spec.Name(version))
		}
	}
}

func checkSBOMs(t *testing.T, dist string, m Manifest) {
	t.Helper()
	for _, f := range m.Files {
		if !strings.HasSuffix(f, ".cdx.json") {
			continue
		}
		fh, err := os.Open(filepath.Join(dist, f))
		if err != nil {
			t.Fatal(err)
		}
		bom := new(cdx.BOM)
		err = cdx.NewBOMDecoder(fh, cdx.BOMFileFormatJSON).Decode(bom)
		fh.Close()
		if err != nil || bom.Metadata == nil || bom.Metadata.Component == nil || bom.Components == nil {
			t.Fatalf("%s is not a CycloneDX SBOM with a subject and components: %v", f, err)
		}
		// A module each binary links (signet-kms: the AWS KMS SDK, which
		// the signet-sign images' SBOMs must list too: they ship it).
		module := "pkg:golang/github.com/urfave/cli/v2@v2.27.7?"
		isPlugin := strings.HasPrefix(f, "signet-kms_")
		if isPlugin || strings.HasPrefix(f, "signet-sign") {
			module = "pkg:golang/github.com/aws/aws-sdk-go-v2/service/kms@"
		}
		var golang, debs bool
		for _, c := range *bom.Components {
			golang = golang || strings.HasPrefix(c.PackageURL, module)
			for _, p := range m.Packages {
				debs = debs || p.Name == "ca-certificates" && c.PackageURL == "pkg:deb/debian/ca-certificates@"+purlVersion.Replace(p.Version)+"?arch=all&distro=debian-12"
			}
		}
		isImage := slices.ContainsFunc(Images, func(spec ImageSpec) bool {
			return slices.ContainsFunc(ImagePlatforms, func(p string) bool { return spec.SBOMFile(p) == f })
		})
		if !golang || debs != isImage {
			t.Errorf("%s: Go module %s listed %v, Debian packages listed %v (image SBOM %v)", f, module, golang, debs, isImage)
		}
	}
}
