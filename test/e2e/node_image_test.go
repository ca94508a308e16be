package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/signet-dev/signet/test/stack"
	"github.com/signet-dev/signet/tools/release"
)

// enforceImage builds the release's daemonless enforce image for this
// machine's platform (tools/release: the Debian-package base, nonroot,
// exactly what `make release` ships) and pushes it to the stack's registry,
// so the node runs the image a user installs. It returns repository and digest.
func enforceImage(t *testing.T, ctx context.Context, s *stack.Stack) (repo, digest string) {
	t.Helper()
	repo = s.Registry.Host + "/signet-dev/signet-enforce"
	d, err := release.PushEnforceImage(ctx, release.HostImageOptions{Log: t.Logf}, repo+":test")
	if err != nil {
		t.Fatal(err)
	}
	return repo, d.DigestStr()
}

// appImage pushes a workload image (the pause command: it runs until stopped)
// under ref and returns ref@digest; label makes the digest distinct per image.
func appImage(t *testing.T, ctx context.Context, bin, ref, label string, opts ...remote.Option) string {
	t.Helper()
	pinned, err := stack.PushBinaryImage(ctx, ref, stack.BinaryImage{Binary: bin, Path: "/app", Labels: map[string]string{"signet.test/image": label}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	_, digest, _ := strings.Cut(pinned, "@")
	return ref + "@" + digest
}
