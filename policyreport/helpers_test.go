package policyreport

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/signet-dev/signet/test/stack"
)

// apiServer starts kube-apiserver (skipped under -short) with the given
// namespaces and returns its config and clients.
func apiServer(t *testing.T, namespaces ...string) (*rest.Config, dynamic.Interface) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts kube-apiserver and etcd")
	}
	s := stack.New(t, stack.Options{Kube: true})
	dyn, err := dynamic.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(s.Kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		createNamespace(t, kc, ns)
	}
	return s.Kube.Config, dyn
}

func createNamespace(t *testing.T, kc kubernetes.Interface, ns string) {
	t.Helper()
	if _, err := kc.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// noNegotiation lets a raw REST client ask for a Table as JSON.
type noNegotiation struct{}

func (noNegotiation) SupportedMediaTypes() []runtime.SerializerInfo {
	return serializer.NewCodecFactory(runtime.NewScheme()).WithoutConversion().SupportedMediaTypes()
}
func (noNegotiation) EncoderForVersion(e runtime.Encoder, _ runtime.GroupVersioner) runtime.Encoder {
	return e
}
func (noNegotiation) DecoderToVersion(d runtime.Decoder, _ runtime.GroupVersioner) runtime.Decoder {
	return d
}
