package scan

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
)

// TestTargetsUseTheDigestTheNodeRuns: the node's image ID wins over the
// spec; the spec's pinned digest is the fallback; a runtime's bare image ID
// is not a manifest digest.
func TestTargetsUseTheDigestTheNodeRuns(t *testing.T) {
	yes := true
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-7d9f8-x2", Namespace: "prod", Labels: map[string]string{"pod-template-hash": "7d9f8"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d9f8", Controller: &yes}}},
		Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "migrate", Image: "ghcr.io/acme/migrate:1@" + digestA}},
			Containers: []corev1.Container{
				{Name: "web", Image: "ghcr.io/acme/web:1@" + digestA},
				{Name: "sidecar", Image: "ghcr.io/acme/sidecar:1"},
				{Name: "tagonly", Image: "ghcr.io/acme/tagonly:1"},
			},
			EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox@" + digestB}}},
			Volumes:             []corev1.Volume{{Name: "models", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "ghcr.io/acme/models@" + digestB}}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "web", ImageID: "ghcr.io/acme/web@" + digestB},
				{Name: "sidecar", ImageID: "docker-pullable://ghcr.io/acme/sidecar@" + digestA},
				{Name: "tagonly", ImageID: digestB}, // an image (config) ID, not a manifest digest
			}},
	}
	want := []struct {
		container, digest string
		from              DigestSource
		ref               string
	}{
		{"initContainer migrate", digestA, FromSpec, "ghcr.io/acme/migrate@" + digestA},
		{"container web", digestB, FromNode, "ghcr.io/acme/web@" + digestB},
		{"container sidecar", digestA, FromNode, "ghcr.io/acme/sidecar@" + digestA},
		{"container tagonly", "", "", ""},
		{"ephemeralContainer debug", digestB, FromSpec, "index.docker.io/library/busybox@" + digestB},
		{"image volume models", digestB, FromSpec, "ghcr.io/acme/models@" + digestB},
	}
	got := Targets(pod)
	if len(got) != len(want) {
		t.Fatalf("got %d targets, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Container != w.container || g.Digest != w.digest || g.DigestFrom != w.from || g.Ref() != w.ref {
			t.Errorf("target %d = %s %s %s %s, want %+v", i, g.Container, g.Digest, g.DigestFrom, g.Ref(), w)
		}
		if g.Pod.Workload != "Deployment/web" {
			t.Errorf("workload %q, want Deployment/web", g.Pod.Workload)
		}
	}
	for _, phase := range []corev1.PodPhase{corev1.PodSucceeded, corev1.PodFailed} {
		pod.Status.Phase = phase
		if Running(pod) {
			t.Errorf("a %s pod counts as running", phase)
		}
	}
}

// TestATerminatingPodThatStillRunsIsAudited: deletion starts a grace
// period the pod's author chose; until the containers stop (the kubelet
// then sets a final phase) the pod runs and is audited.
func TestATerminatingPodThatStillRunsIsAudited(t *testing.T) {
	now := metav1.Now()
	grace := int64(86400)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stays", DeletionTimestamp: &now, DeletionGracePeriodSeconds: &grace},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if !Running(pod) {
		t.Error("a terminating pod whose containers still run is not audited")
	}
	pod.Status.Phase = corev1.PodSucceeded
	if Running(pod) {
		t.Error("a terminated pod is audited")
	}
}
