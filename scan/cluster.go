package scan

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/signet-dev/signet/policy"
)

// API is what a scan reads from the Kubernetes API; internal/kubecore
// implements it over a kubeconfig. It is declared here, and this small, so
// that `sign` need not link client-go's full clientset.
type API interface {
	Pods(ctx context.Context, namespace string, opts metav1.ListOptions) (*corev1.PodList, error)
	Namespaces(ctx context.Context, opts metav1.ListOptions) (*corev1.NamespaceList, error)
}

// ListTargets lists the targets of every running pod in namespace ("" for
// all namespaces), a page at a time.
func ListTargets(ctx context.Context, kc API, namespace string) ([]Target, error) {
	var out []Target
	opts := metav1.ListOptions{Limit: 500}
	for {
		pods, err := kc.Pods(ctx, namespace, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		for i := range pods.Items {
			if Running(&pods.Items[i]) {
				out = append(out, Targets(&pods.Items[i])...)
			}
		}
		if opts.Continue = pods.Continue; opts.Continue == "" {
			return out, nil
		}
	}
}

// NamespaceModes returns p's namespace modes for Batch.NamespaceMode. The
// namespaces' labels are read (one list) only when p selects namespaces by
// label; a namespace whose labels cannot be read is enforced, as the
// webhook does.
func NamespaceModes(ctx context.Context, kc API, p *policy.Policy) (func(string) policy.NamespaceMode, error) {
	e := p.Enforcement
	if len(e.AuditLabels) == 0 && len(e.ExemptLabels) == 0 {
		return func(ns string) policy.NamespaceMode { return e.NamespaceMode(ns, nil) }, nil
	}
	list, err := kc.Namespaces(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading namespace labels for the trust file's auditLabels/exemptLabels: %w", err)
	}
	labels := map[string]map[string]string{}
	for _, ns := range list.Items {
		labels[ns.Name] = nonNil(ns.Labels)
	}
	return func(ns string) policy.NamespaceMode { return e.NamespaceMode(ns, labels[ns]) }, nil
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// Report is what `sign audit` prints: every finding in a cluster or
// namespace under one policy.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Policy     string `json:"policy"`
	PolicyHash string `json:"policyHash"`
	// Namespace is the namespace audited, "" for all.
	Namespace string  `json:"namespace,omitempty"`
	Summary   Summary `json:"summary"`
	// Denied is set when the webhook, in enforce mode, would refuse at
	// least one image that runs (a fail or error result).
	Denied   bool      `json:"denied"`
	Findings []Finding `json:"findings"`
}

// Cluster audits what runs in namespace ("" for the whole cluster) under p.
func Cluster(ctx context.Context, kc API, e *Engine, p *policy.Policy, namespace string) (*Report, error) {
	targets, err := ListTargets(ctx, kc, namespace)
	if err != nil {
		return nil, err
	}
	modes, err := NamespaceModes(ctx, kc, p)
	if err != nil {
		return nil, err
	}
	fs := e.Decide(ctx, Batch{Policy: p, Targets: targets, NamespaceMode: modes})
	r := &Report{APIVersion: policy.APIVersion, Kind: "AuditResult", Policy: p.Source, PolicyHash: p.Hash, Namespace: namespace,
		Summary: Summarize(fs), Findings: fs}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	for _, f := range fs {
		r.Denied = r.Denied || f.Denied()
	}
	return r, nil
}
