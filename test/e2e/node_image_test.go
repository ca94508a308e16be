package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/signet-dev/signet/test/stack"
)

// enforceImage builds a static enforce and packs it into a one-layer image in
// the stack's registry (repository, digest). It stands in for the release
// image builder's daemonless enforce image until that lands; only this
// function changes then.
func enforceImage(t *testing.T, ctx context.Context, s *stack.Stack) (repo, digest string) {
	t.Helper()
	bin, err := stack.BuildStatic(ctx, t.TempDir(), "github.com/signet-dev/signet/cmd/enforce")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := stack.PushBinaryImage(ctx, s.Registry.Host+"/signet-dev/signet-enforce:test", stack.BinaryImage{
		Binary: bin, Path: "/enforce", Labels: map[string]string{"org.opencontainers.image.title": "signet-enforce (test build)"}})
	if err != nil {
		t.Fatal(err)
	}
	repo, digest, _ = strings.Cut(ref, "@")
	return repo, digest
}

// appImage pushes a workload image (the pause command: it runs until stopped)
// under ref and returns ref@digest; label makes the digest distinct per image.
func appImage(t *testing.T, ctx context.Context, bin, ref, label string) string {
	t.Helper()
	pinned, err := stack.PushBinaryImage(ctx, ref, stack.BinaryImage{Binary: bin, Path: "/app", Labels: map[string]string{"signet.test/image": label}})
	if err != nil {
		t.Fatal(err)
	}
	_, digest, _ := strings.Cut(pinned, "@")
	return ref + "@" + digest
}
