// Package workload knows where Kubernetes objects keep their images: which
// kinds carry a pod spec, and every image in it (containers, init and
// ephemeral containers, image volumes) with the JSON pointer of its field.
// The enforce webhook reads admission requests with it and `sign verify -f`
// reads manifests with it, so a manifest check covers exactly what
// admission covers. It links no Kubernetes client.
package workload

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// workloadSpec is the part of corev1.PodSpec the webhook reads, with the same
// JSON names: decoding a whole PodSpec (resources, probes, env...) was about
// a quarter of a cached admission's handler time (with the object walk), for
// fields no decision looks at.
type workloadSpec struct {
	ServiceAccountName  string                        `json:"serviceAccountName,omitempty"`
	ImagePullSecrets    []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	InitContainers      []container                   `json:"initContainers,omitempty"`
	Containers          []container                   `json:"containers,omitempty"`
	EphemeralContainers []container                   `json:"ephemeralContainers,omitempty"`
	Volumes             []volume                      `json:"volumes,omitempty"`
}

type container struct {
	Name  string `json:"name"`
	Image string `json:"image,omitempty"`
}

type volume struct {
	Name  string                    `json:"name"`
	Image *corev1.ImageVolumeSource `json:"image,omitempty"`
}

// Image is one image reference in a workload, with the JSON pointer of the
// field that holds it (for the digest patch) and a name for messages.
type Image struct {
	// Pointer is the RFC 6901 path of the field, e.g.
	// "/spec/template/spec/initContainers/0/image".
	Pointer string `json:"pointer"`
	// Where names it for a human: "initContainer migrate".
	Where string `json:"where"`
	Image string `json:"image"`
}

// podSpecPaths is where each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// SupportedKind reports whether kind carries a pod spec signet checks.
func SupportedKind(kind string) bool { _, ok := podSpecPaths[kind]; return ok }

// Kinds lists the kinds that carry a pod spec, sorted.
func Kinds() []string { return slices.Sorted(maps.Keys(podSpecPaths)) }

// Workload is what the webhook reads from an object: its images and the
// credentials the kubelet would pull them with.
type Workload struct {
	Images         []Image
	PullSecrets    []string
	ServiceAccount string
}

// Extract returns every image of a workload object (containers, init
// containers, ephemeral containers and image volumes) and its pull secrets
// and service account. With ephemeralOnly (the pods/ephemeralcontainers
// subresource) only ephemeral containers are returned: nothing else can
// change through it.
func Extract(kind string, raw []byte, ephemeralOnly bool) (*Workload, error) {
	path, ok := podSpecPaths[kind]
	if !ok {
		return nil, fmt.Errorf("kind %q carries no pod spec signet knows", kind)
	}
	specJSON, err := dig(raw, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", kind, err)
	}
	if specJSON == nil {
		return &Workload{}, nil // no pod spec (e.g. a template left empty): nothing runs
	}
	var spec workloadSpec
	if err := json.Unmarshal(specJSON, &spec); err != nil {
		return nil, fmt.Errorf("decoding the pod spec of %s: %w", kind, err)
	}
	w := &Workload{ServiceAccount: spec.ServiceAccountName}
	if w.ServiceAccount == "" {
		w.ServiceAccount = "default"
	}
	for _, ps := range spec.ImagePullSecrets {
		w.PullSecrets = append(w.PullSecrets, ps.Name)
	}
	base := "/" + strings.Join(path, "/")
	var out []Image
	add := func(field, what string, i int, name, image string) {
		out = append(out, Image{Pointer: fmt.Sprintf("%s/%s/%d/image", base, field, i), Where: what + " " + clip(name), Image: image})
	}
	if !ephemeralOnly {
		for i, c := range spec.InitContainers {
			add("initContainers", "initContainer", i, c.Name, c.Image)
		}
		for i, c := range spec.Containers {
			add("containers", "container", i, c.Name, c.Image)
		}
	}
	for i, c := range spec.EphemeralContainers {
		add("ephemeralContainers", "ephemeralContainer", i, c.Name, c.Image)
	}
	if !ephemeralOnly {
		for i, v := range spec.Volumes {
			if v.Image != nil {
				out = append(out, Image{Pointer: base + "/volumes/" + strconv.Itoa(i) + "/image/reference", Where: "image volume " + clip(v.Name), Image: v.Image.Reference})
			}
		}
	}
	w.Images = out
	return w, nil
}

// dig walks object keys and returns the raw value at path, nil if absent.
func dig(raw []byte, path []string) (json.RawMessage, error) {
	cur := json.RawMessage(raw)
	for _, key := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			return nil, fmt.Errorf("%s is not an object: %w", key, err)
		}
		next, ok := m[key]
		if !ok || string(next) == "null" {
			return nil, nil
		}
		cur = next
	}
	return cur, nil
}

// maxNameBytes is the longest container or volume name shown in messages,
// logs, events and audit annotations: a valid one is a DNS label (63
// bytes), but the mutating pass sees the object before the apiserver
// validates it.
const maxNameBytes = 63

// clip shortens a request-supplied name for display.
func clip(name string) string {
	if len(name) <= maxNameBytes {
		return name
	}
	return strings.ToValidUTF8(name[:maxNameBytes], "") + "…"
}
