package release

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/signet-dev/signet/test/stack"
)

// TestPushEnforceImage builds the enforce image for this machine, pushes it
// to a real in-process registry, pulls it back, and runs `enforce version`
// and `enforce serve --help` from the image's own entrypoint, as nonroot.
func TestPushEnforceImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds release binaries (make unit runs -short; make test runs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	reg, srv := stack.NewRegistry()
	defer srv.Close()
	ref := reg.Host + "/signet/signet-enforce:devel"
	d, err := PushEnforceImage(ctx, HostImageOptions{Log: t.Logf}, ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pushed image is not valid: %v", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || cf.Config.User != "65532:65532" {
		t.Fatalf("config %s/%s user %q, want linux/%s as 65532:65532", cf.OS, cf.Architecture, cf.Config.User, runtime.GOARCH)
	}
	if _, err := name.NewDigest(d.String()); err != nil {
		t.Fatal(err)
	}
	rootfs := t.TempDir()
	unpack(t, img, rootfs)
	out, err := runInImage(t, img, rootfs, nil, "serve", "--help")
	if err != nil || !strings.Contains(out, "--tls-cert") {
		t.Fatalf("enforce serve --help from the image: %v\n%s", err, out)
	}
	out, err = runInImage(t, img, rootfs, nil, "version")
	if err != nil || !strings.HasPrefix(out, "enforce devel") {
		t.Fatalf("enforce version from the image: %v\n%s", err, out)
	}
}
