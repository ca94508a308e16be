// Package policyreport writes signet's findings as PolicyReports in the
// standard wgpolicyk8s.io/v1alpha2 format, so `kubectl get polr -A`, Policy
// Reporter and dashboards built for Kyverno read them unchanged: one
// PolicyReport per namespace (chunked when large), one result per pod and
// container image, and a ClusterPolicyReport with one summary result per
// namespace.
//
// The Go types are written here (the format's own module is not served to
// this project, and Kyverno's is too large to import for five structs);
// their JSON is exactly the CRD schema, which the tests check against both
// the chart's CRDs and Kyverno's on a real apiserver.
package policyreport

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The API group and resources.
var (
	GroupVersion         = schema.GroupVersion{Group: "wgpolicyk8s.io", Version: "v1alpha2"}
	PolicyReports        = GroupVersion.WithResource("policyreports")
	ClusterPolicyReports = GroupVersion.WithResource("clusterpolicyreports")
)

// Kinds.
const (
	KindPolicyReport        = "PolicyReport"
	KindClusterPolicyReport = "ClusterPolicyReport"
)

// Report is a PolicyReport or a ClusterPolicyReport: the two kinds have the
// same fields.
type Report struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Scope, if set, is the one object all results are about; signet's
	// results name their pods instead.
	Scope   *corev1.ObjectReference `json:"scope,omitempty"`
	Summary Summary                 `json:"summary"`
	Results []Result                `json:"results,omitempty"`
}

// Summary counts a report's results by outcome.
type Summary struct {
	Pass  int `json:"pass"`
	Fail  int `json:"fail"`
	Warn  int `json:"warn"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// Result is one policy result about some resources.
type Result struct {
	Source   string `json:"source,omitempty"`
	Policy   string `json:"policy"`
	Rule     string `json:"rule,omitempty"`
	Category string `json:"category,omitempty"`
	Severity string `json:"severity,omitempty"`
	// Timestamp is when the evidence was verified.
	Timestamp  metav1.Timestamp         `json:"timestamp"`
	Result     string                   `json:"result,omitempty"`
	Scored     bool                     `json:"scored,omitempty"`
	Resources  []corev1.ObjectReference `json:"resources,omitempty"`
	Message    string                   `json:"message,omitempty"`
	Properties map[string]string        `json:"properties,omitempty"`
}

// Result values.
const (
	ResultPass  = "pass"
	ResultFail  = "fail"
	ResultWarn  = "warn"
	ResultError = "error"
	ResultSkip  = "skip"
)

func (s *Summary) add(result string) {
	switch result {
	case ResultPass:
		s.Pass++
	case ResultFail:
		s.Fail++
	case ResultWarn:
		s.Warn++
	case ResultError:
		s.Error++
	case ResultSkip:
		s.Skip++
	}
}
