package scan

import (
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// DigestSource says where a target's digest comes from.
type DigestSource string

const (
	// FromNode is the digest the node reports it runs (imageID).
	FromNode DigestSource = "node"
	// FromSpec is the digest the pod spec pins (name:tag@sha256:..., as the
	// webhook writes it): the container has not started yet, or its node
	// reports no usable image ID.
	FromSpec DigestSource = "spec"
)

// Pod is what a scan needs of a pod beyond its images: where it lives and
// the credentials the kubelet pulls with.
type Pod struct {
	Namespace, Name string
	UID             types.UID
	// Workload names the pod's controller ("Deployment/web"), or "" for a
	// bare pod.
	Workload       string
	PullSecrets    []string
	ServiceAccount string
}

// Target is one image of one pod: a container, init container, ephemeral
// container or image volume.
type Target struct {
	Pod *Pod
	// Container names it for a human: "container web".
	Container string
	// Image is the reference the pod spec writes.
	Image string
	// Digest is what runs (or will run), "sha256:..."; "" when unknown.
	Digest     string
	DigestFrom DigestSource
}

// Ref is the reference that is verified: the spec's repository at the
// digest that runs. The repository is the spec's, since the trust policy
// matched that name; the digest is the node's, since that is what runs. ""
// when the spec's image does not parse or no digest is known.
func (t Target) Ref() string {
	if t.Digest == "" {
		return ""
	}
	ref, err := name.ParseReference(t.Image)
	if err != nil {
		return ""
	}
	return ref.Context().Name() + "@" + t.Digest
}

// Running reports whether a pod's containers run or are about to: pending
// (just admitted) or running. A pod being deleted counts until its phase
// says its containers stopped: it runs through its grace period, which
// its author sets (and a process that ignores SIGTERM uses all of), so
// skipping terminating pods would hide exactly what runs (Kyverno's
// CVE-2023-34091). Finished pods run nothing and are not audited.
func Running(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodPending || pod.Status.Phase == corev1.PodRunning || pod.Status.Phase == ""
}

// Targets lists every image of a pod with the digest that runs it.
func Targets(pod *corev1.Pod) []Target {
	p := &Pod{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, Workload: workloadOf(pod), ServiceAccount: pod.Spec.ServiceAccountName}
	if p.ServiceAccount == "" {
		p.ServiceAccount = "default"
	}
	for _, s := range pod.Spec.ImagePullSecrets {
		p.PullSecrets = append(p.PullSecrets, s.Name)
	}
	var out []Target
	add := func(what string, c corev1.Container, statuses []corev1.ContainerStatus) {
		t := Target{Pod: p, Container: what + " " + c.Name, Image: c.Image}
		for _, s := range statuses {
			if s.Name == c.Name {
				t.Digest = digestOf(s.ImageID)
			}
		}
		if t.Digest != "" {
			t.DigestFrom = FromNode
		} else if t.Digest = digestOf(c.Image); t.Digest != "" {
			t.DigestFrom = FromSpec
		}
		out = append(out, t)
	}
	for _, c := range pod.Spec.InitContainers {
		add("initContainer", c, pod.Status.InitContainerStatuses)
	}
	for _, c := range pod.Spec.Containers {
		add("container", c, pod.Status.ContainerStatuses)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		add("ephemeralContainer", corev1.Container(c.EphemeralContainerCommon), pod.Status.EphemeralContainerStatuses)
	}
	for _, v := range pod.Spec.Volumes {
		if v.Image != nil {
			// The kubelet reports no image ID for image volumes.
			t := Target{Pod: p, Container: "image volume " + v.Name, Image: v.Image.Reference, Digest: digestOf(v.Image.Reference), DigestFrom: FromSpec}
			if t.Digest == "" {
				t.DigestFrom = ""
			}
			out = append(out, t)
		}
	}
	return out
}

// digestOf reads the manifest digest of an image ID or reference:
// "docker.io/library/nginx@sha256:...", "docker-pullable://...@sha256:...",
// or "name:tag@sha256:...". A bare "sha256:..." is a runtime's image (config)
// ID, not a manifest digest: no signature is attached to it, so it is not
// used.
func digestOf(s string) string {
	_, d, ok := strings.Cut(s, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		return ""
	}
	return d
}

// workloadOf names a pod's controller from its owner reference. A
// ReplicaSet that a Deployment made (its name is the pod-template-hash
// suffix longer) is shown as the Deployment, as `kubectl` users think of it.
func workloadOf(pod *corev1.Pod) string {
	for _, o := range pod.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if h := pod.Labels["pod-template-hash"]; o.Kind == "ReplicaSet" && h != "" && strings.HasSuffix(o.Name, "-"+h) {
			return "Deployment/" + strings.TrimSuffix(o.Name, "-"+h)
		}
		return o.Kind + "/" + o.Name
	}
	return ""
}
