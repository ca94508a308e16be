// Package kubecore is the Kubernetes client of `sign audit`: a kubeconfig
// loaded the way kubectl loads it (client-go's clientcmd: contexts, client
// certificates, tokens, exec plugins) and a REST client for the two core/v1
// lists an audit reads. It exists so that `sign` does not link client-go's
// full clientset, whose scheme package registers every API group in its
// init on every run of every command.
package kubecore

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Client lists core/v1 pods and namespaces.
type Client struct {
	rc     *rest.RESTClient
	params runtime.ParameterCodec
}

// coreV1 is built on first use: core/v1's types registered in a scheme of
// their own, not at package init.
var coreV1 = sync.OnceValues(func() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	return s, corev1.AddToScheme(s)
})

// Load reads a kubeconfig like kubectl: path ("" for $KUBECONFIG or
// ~/.kube/config) and context ("" for the current one).
func Load(path, context string) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig: %w", err)
	}
	return New(cfg)
}

// New returns a Client for cfg.
func New(cfg *rest.Config) (*Client, error) {
	scheme, err := coreV1()
	if err != nil {
		return nil, err
	}
	c := rest.CopyConfig(cfg)
	c.APIPath = "/api"
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{rc: rc, params: runtime.NewParameterCodec(scheme)}, nil
}

// Pods lists the pods of namespace ("" for all namespaces), one page as
// opts asks.
func (c *Client) Pods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error) {
	out := &corev1.PodList{}
	err := c.rc.Get().Namespace(namespace).Resource("pods").VersionedParams(&opts, c.params).Do(ctx).Into(out)
	return out, err
}

// Namespaces lists the cluster's namespaces.
func (c *Client) Namespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error) {
	out := &corev1.NamespaceList{}
	err := c.rc.Get().Resource("namespaces").VersionedParams(&opts, c.params).Do(ctx).Into(out)
	return out, err
}
