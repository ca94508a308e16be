package main

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyPackages must not be linked into sign: Go runs every linked
// package's init on every command, and these are what made `sign policy
// lint` cost ~25 ms (issue 13). Each has its replacement: the KMS SDKs and
// cloud credential helpers run out of process (signet-kms, the Docker
// config's credential helpers), sign audit reads through internal/kubecore,
// cosign's key format is read by sign/cosignkey.go.
var heavyPackages = []string{
	"k8s.io/client-go/kubernetes",  // the clientset
	"k8s.io/client-go/kubernetes/", // its all-groups scheme, typed clients
	"github.com/aws/aws-sdk-go-v2/",
	"github.com/Azure/azure-sdk-for-go/",
	"github.com/Azure/go-autorest/",
	"cloud.google.com/go/kms/",
	"github.com/hashicorp/vault/api",
	"github.com/sigstore/sigstore/pkg/signature/kms/aws",
	"github.com/sigstore/sigstore/pkg/signature/kms/azure",
	"github.com/sigstore/sigstore/pkg/signature/kms/gcp",
	"github.com/sigstore/sigstore/pkg/signature/kms/hashivault",
	"github.com/awslabs/amazon-ecr-credential-helper/",
	"github.com/chrismellard/docker-credential-acr-env/",
	"github.com/google/go-containerregistry/pkg/v1/google",
	"github.com/sigstore/cosign/v2/pkg/cosign",
}

// TestLinksNoHeavyPackage fails when sign links one of heavyPackages again,
// naming the package and the chain that pulls it in.
func TestLinksNoHeavyPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	importers := map[string][]string{} // package -> packages importing it
	var linked []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		linked = append(linked, f[0])
		for _, imp := range f[1:] {
			importers[imp] = append(importers[imp], f[0])
		}
	}
	for _, heavy := range heavyPackages {
		for _, pkg := range linked {
			if pkg == heavy || strings.HasSuffix(heavy, "/") && strings.HasPrefix(pkg, heavy) {
				t.Errorf("sign links %s: %s", heavy, chain(importers, pkg))
				break
			}
		}
	}
}

// chain is one import path from sign's main package to pkg.
func chain(importers map[string][]string, pkg string) string {
	path := []string{pkg}
	seen := map[string]bool{pkg: true}
	for cur := pkg; cur != "github.com/signet-dev/signet/cmd/sign"; {
		next := ""
		for _, imp := range importers[cur] {
			if !seen[imp] {
				next = imp
				break
			}
		}
		if next == "" {
			break
		}
		seen[next] = true
		path = append([]string{next}, path...)
		cur = next
	}
	return strings.Join(path, " -> ")
}
