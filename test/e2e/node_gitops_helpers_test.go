package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// gitops applies manifests as Flux's kustomize-controller and Argo CD's
// server-side apply do: server-side apply under a field manager, and the
// same request with dryRun=All to see what applying Git again would
// change (Flux's drift detection; Argo CD's ServerSideDiff, which with
// IncludeMutationWebhook=true lets the mutating webhooks run).
type gitops struct {
	t       *testing.T
	dyn     dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	manager string
}

func newGitops(t *testing.T, cfg *rest.Config, manager string) *gitops {
	t.Helper()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &gitops{t: t, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), manager: manager}
}

// decode splits a multi-document YAML stream into objects (empty documents
// and comments dropped), CustomResourceDefinitions first, as GitOps tools
// order them.
func decodeManifests(t *testing.T, manifests string) []*unstructured.Unstructured {
	t.Helper()
	dec := yamlutil.NewYAMLOrJSONDecoder(strings.NewReader(manifests), 4096)
	var crds, others []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("manifests: %v", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, u)
		} else {
			others = append(others, u)
		}
	}
	return append(crds, others...)
}

// apply server-side applies every object (dryRun: only asks what would
// change) and returns what the apiserver answered, webhooks included.
func (g *gitops) apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) []*unstructured.Unstructured {
	g.t.Helper()
	var out []*unstructured.Unstructured
	for _, u := range objs {
		got, err := g.try(ctx, u, dryRun)
		if err != nil {
			g.t.Fatalf("server-side apply (dryRun %v) of %s %s: %v", dryRun, u.GetKind(), u.GetName(), err)
		}
		out = append(out, got)
	}
	return out
}

// try server-side applies one object and returns the apiserver's answer.
func (g *gitops) try(ctx context.Context, u *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	data, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: g.manager, Force: ptr(true)}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	got, err := g.resource(u).Patch(ctx, u.GetName(), "application/apply-patch+yaml", data, opts)
	if err == nil && u.GetKind() == "CustomResourceDefinition" {
		g.mapper.Reset()
	}
	return got, err
}

func (g *gitops) resource(u *unstructured.Unstructured) dynamic.ResourceInterface {
	g.t.Helper()
	gvk := u.GroupVersionKind()
	m, err := g.mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
	if err != nil {
		g.t.Fatalf("%s: %v", gvk, err)
	}
	if m.Scope.Name() == "namespace" {
		return g.dyn.Resource(m.Resource).Namespace(u.GetNamespace())
	}
	return g.dyn.Resource(m.Resource)
}

// live returns the object as stored.
func (g *gitops) live(ctx context.Context, u *unstructured.Unstructured) *unstructured.Unstructured {
	g.t.Helper()
	got, err := g.resource(u).Get(ctx, u.GetName(), metav1.GetOptions{})
	if err != nil {
		g.t.Fatal(err)
	}
	return got
}

// drift is what a server-side dry run of Git's object would change in the
// live one's spec: nothing ("") when applying Git again changes nothing.
func drift(live, dryRun *unstructured.Unstructured) string {
	a, _ := json.Marshal(live.Object["spec"])
	b, _ := json.Marshal(dryRun.Object["spec"])
	if bytes.Equal(a, b) {
		return ""
	}
	return fmt.Sprintf("live spec %s\ndry-run spec %s", a, b)
}

// containerImage is .spec.template.spec.containers[0].image.
func containerImage(u *unstructured.Unstructured) string {
	cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		return ""
	}
	img, _, _ := unstructured.NestedString(cs[0].(map[string]any), "image")
	return img
}
