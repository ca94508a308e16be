package release

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// HostImageOptions configure BuildEnforceImage. Zero values are fine.
type HostImageOptions struct {
	Module   string    // repository root (default: the module of the working directory)
	Version  string    // stamped version (default "devel")
	Epoch    time.Time // timestamps (default: the Unix epoch)
	CacheDir string    // apt state and .deb files (default: user cache dir/signet/release)
	Log      func(format string, args ...any)
}

// BuildEnforceImage builds the enforce image for this machine's
// architecture (linux only): the enforce binary compiled from the source
// tree, on the Debian-package base, exactly as the release builds it.
// Tests that need the image a node runs (e.g. on a real kubelet) call this,
// then push it with remote.Write or use PushEnforceImage.
func BuildEnforceImage(ctx context.Context, o HostImageOptions) (v1.Image, error) {
	return BuildHostImage(ctx, o, Images[0])
}

// BuildHostImage is BuildEnforceImage for any of the release's images
// without a plugin binary (enforce, signet-node).
func BuildHostImage(ctx context.Context, o HostImageOptions, spec ImageSpec) (v1.Image, error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("the %s image is linux only, this is %s", spec.Repository, runtime.GOOS)
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	platform := "linux/" + runtime.GOARCH
	bin := filepath.Join(o.CacheDir, "host", spec.Binary+"_"+runtime.GOARCH)
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return nil, err
	}
	if err := GoBuild(ctx, Binary{Name: spec.Binary, Platform: platform}, bin, BuildOptions{Module: o.Module, Version: o.Version, Epoch: o.Epoch}); err != nil {
		return nil, err
	}
	f := &Fetcher{Source: Debian, Dir: filepath.Join(o.CacheDir, "apt"), Log: o.Log}
	debs, err := f.Fetch(ctx, []string{runtime.GOARCH}, BasePackages)
	if err != nil {
		return nil, err
	}
	built, err := BuildImage(spec, ImageInputs{Version: o.Version, Epoch: o.Epoch, Source: SourceURL,
		Binaries: map[string]string{platform: bin}, Debs: debs})
	if err != nil {
		return nil, err
	}
	return childImage(built.Index, platform)
}

// PushEnforceImage builds the host's enforce image and pushes it to ref,
// returning the pushed digest.
func PushEnforceImage(ctx context.Context, o HostImageOptions, ref string, opts ...remote.Option) (name.Digest, error) {
	return PushHostImage(ctx, o, Images[0], ref, opts...)
}

// PushHostImage builds the host's image of spec and pushes it to ref.
func PushHostImage(ctx context.Context, o HostImageOptions, spec ImageSpec, ref string, opts ...remote.Option) (name.Digest, error) {
	img, err := BuildHostImage(ctx, o, spec)
	if err != nil {
		return name.Digest{}, err
	}
	tag, err := name.ParseReference(ref)
	if err != nil {
		return name.Digest{}, err
	}
	if err := remote.Write(tag, img, append([]remote.Option{remote.WithContext(ctx)}, opts...)...); err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return name.Digest{}, err
	}
	return tag.Context().Digest(d.String()), nil
}

// childImage returns the index's image for platform.
func childImage(idx v1.ImageIndex, platform string) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS+"/"+d.Platform.Architecture == platform {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("no %s image in the index", platform)
}

// SourceURL is the repository images and SBOMs name as their source.
const SourceURL = "https://github.com/signet-dev/signet"

func (o *HostImageOptions) defaults() error {
	if o.Version == "" {
		o.Version = "devel"
	}
	if o.Epoch.IsZero() {
		o.Epoch = time.Unix(0, 0).UTC()
	}
	if o.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		o.CacheDir = filepath.Join(d, "signet", "release")
	}
	if o.Module == "" {
		out, err := exec.Command(goTool(), "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
			return fmt.Errorf("no Go module here (go env GOMOD): set HostImageOptions.Module")
		}
		o.Module = filepath.Dir(strings.TrimSpace(string(out)))
	}
	return nil
}
