package stack_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/signet-dev/signet/test/stack"
)

// The apiserver must store and return a Pod, through both the rest.Config and the
// kubeconfig file, so the webhook tests can run against it.
func TestKubeAPIServerStoresPod(t *testing.T) {
	s := stack.New(t, stack.Options{Kube: true})
	ctx := context.Background()
	fromFile, err := clientcmd.BuildConfigFromFlags("", s.Kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*rest.Config{"rest.Config": s.Kube.Config, "kubeconfig": fromFile} {
		t.Run(name, func(t *testing.T) {
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{GenerateName: "app-", Namespace: "default"},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "ghcr.io/acme/app@sha256:" + stack.DefaultSHA + stack.DefaultSHA[:24]}}},
			}
			created, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := cs.CoreV1().Pods("default").Get(ctx, created.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Spec.Containers[0].Image != pod.Spec.Containers[0].Image {
				t.Fatalf("stored image %q, want %q", got.Spec.Containers[0].Image, pod.Spec.Containers[0].Image)
			}
		})
	}
}
