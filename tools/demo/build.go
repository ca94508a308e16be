package main

import (
	"archive/tar"
	"bytes"
	"context"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/sign"
)

// tinyImage is a one-file image built in memory: no daemon, no base image.
func tinyImage(content string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0o644, Size: int64(len(content))}); err != nil {
		return nil, err
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, layer)
}

// demoProvenance is the SLSA v1 predicate of this demo's "build": outside CI
// it is supplied explicitly, as `sign attest --predicate FILE` would.
var demoProvenance = &attest.Provenance{
	BuildDefinition: attest.BuildDefinition{
		BuildType: "https://signet.dev/buildtypes/demo/v1",
		ExternalParameters: attest.ExternalParameters{Workflow: attest.Workflow{
			Repository: "https://github.com/acme/app", Ref: "refs/heads/main", Path: "Makefile"}},
		ResolvedDependencies: []attest.ResourceDescriptor{{
			URI: "git+https://github.com/acme/app@refs/heads/main", Digest: map[string]string{"gitCommit": "0123456789abcdef0123456789abcdef01234567"}}},
	},
	RunDetails: attest.RunDetails{Builder: attest.Builder{ID: "https://signet.dev/make-demo"}},
}

// signAndAttest is `sign image --attest --key ... --policy ...` as a library
// call: preflight first, then both layouts, then the post-check.
func signAndAttest(ctx context.Context, kp *sign.Keypair, image string, p *policy.Policy) (*sign.Result, error) {
	pred, err := attest.ProvenancePredicate(demoProvenance)
	if err != nil {
		return nil, err
	}
	return sign.Run(ctx, mustSession(kp), sign.Request{
		Image: image, Format: sign.FormatBoth, Sign: true, Attest: []attest.Predicate{pred},
		Policy: p, Signer: sign.Signer{Key: kp}, PostCheck: sign.NewPostCheck(),
	})
}
