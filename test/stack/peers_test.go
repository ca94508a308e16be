package stack

import (
	"slices"
	"testing"
)

// TestModuleDirectives: a peer's throwaway module copies its go.mod's
// replace directives (single and in blocks, comments dropped) and its go
// version when newer than the toolchain's floor.
func TestModuleDirectives(t *testing.T) {
	gomod := []byte(`module github.com/sigstore/policy-controller

go 1.24

require k8s.io/api v0.32.3

// to conflicting "log_dir" flags
replace github.com/golang/glog => github.com/jdolitsky/glog v0.0.0-20220729172235-78744e90d087

replace (
	// knative deps require an old gengo
	k8s.io/code-generator => k8s.io/code-generator v0.29.4
	k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-20231010175941-2dd684a91f00 // pinned
)
`)
	goVersion, replaces := moduleDirectives(gomod)
	want := []string{
		"github.com/golang/glog => github.com/jdolitsky/glog v0.0.0-20220729172235-78744e90d087",
		"k8s.io/code-generator => k8s.io/code-generator v0.29.4",
		"k8s.io/kube-openapi => k8s.io/kube-openapi v0.0.0-20231010175941-2dd684a91f00",
	}
	if goVersion != "1.26" || !slices.Equal(replaces, want) {
		t.Errorf("got go %s, replaces %q", goVersion, replaces)
	}
	if v, _ := moduleDirectives([]byte("module x\n\ngo 1.26.6\n")); v != "1.26.6" {
		t.Errorf("kyverno's go 1.26.6 became %s", v)
	}
}
