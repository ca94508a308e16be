package background

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// slim keeps of a pod only what audit reads, so the leader's cache of every
// pod in the cluster stays small: no managed fields, annotations, env,
// probes or volumes other than image volumes.
func slim(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID, ResourceVersion: pod.ResourceVersion,
			DeletionTimestamp: pod.DeletionTimestamp, OwnerReferences: pod.OwnerReferences},
		Spec:   corev1.PodSpec{ServiceAccountName: pod.Spec.ServiceAccountName, ImagePullSecrets: pod.Spec.ImagePullSecrets},
		Status: corev1.PodStatus{Phase: pod.Status.Phase},
	}
	if h, ok := pod.Labels["pod-template-hash"]; ok {
		out.Labels = map[string]string{"pod-template-hash": h}
	}
	thin := func(cs []corev1.Container) []corev1.Container {
		var r []corev1.Container
		for _, c := range cs {
			r = append(r, corev1.Container{Name: c.Name, Image: c.Image})
		}
		return r
	}
	out.Spec.InitContainers, out.Spec.Containers = thin(pod.Spec.InitContainers), thin(pod.Spec.Containers)
	for _, c := range pod.Spec.EphemeralContainers {
		out.Spec.EphemeralContainers = append(out.Spec.EphemeralContainers,
			corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: c.Name, Image: c.Image}})
	}
	for _, v := range pod.Spec.Volumes {
		if v.Image != nil {
			out.Spec.Volumes = append(out.Spec.Volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{Image: v.Image}})
		}
	}
	statuses := func(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
		var r []corev1.ContainerStatus
		for _, s := range ss {
			r = append(r, corev1.ContainerStatus{Name: s.Name, ImageID: s.ImageID})
		}
		return r
	}
	out.Status.InitContainerStatuses = statuses(pod.Status.InitContainerStatuses)
	out.Status.ContainerStatuses = statuses(pod.Status.ContainerStatuses)
	out.Status.EphemeralContainerStatuses = statuses(pod.Status.EphemeralContainerStatuses)
	return out, nil
}
