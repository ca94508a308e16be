package policyreport

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signet-dev/signet/scan"
)

// Source names signet as the producer of a result.
const Source = "signet"

// Category groups signet's results in Policy Reporter.
const Category = "Image Verification"

// MaxMessage bounds a result's message (bytes): a denial that lists many
// rejected signatures would otherwise dominate the report's size. The whole
// explanation is one `sign verify` away.
const MaxMessage = 1024

// MaxObserved bounds the "observed" property: what a failed condition saw.
const MaxObserved = 512

// PolicyName is a result's policy: the trust file and its hash, so a report
// says which version of trust.yaml decided ("trust.yaml@sha256:07f0c1d2e3f4").
func PolicyName(source, hash string) string {
	base := filepath.Base(source)
	if source == "" {
		base = "trust-policy"
	}
	short := hash
	if len(short) > len("sha256:")+12 {
		short = short[:len("sha256:")+12]
	}
	return base + "@" + short
}

// FromFinding renders one finding as a result about its pod.
func FromFinding(f scan.Finding, policyName string) Result {
	r := Result{Source: Source, Policy: policyName, Rule: f.Rule, Category: Category, Result: string(f.Result), Scored: true,
		Timestamp:  metav1.Timestamp{Seconds: f.DecidedAt.Unix(), Nanos: int32(f.DecidedAt.Nanosecond())},
		Resources:  []corev1.ObjectReference{{APIVersion: "v1", Kind: "Pod", Namespace: f.Namespace, Name: f.Pod, UID: types.UID(f.PodUID)}},
		Message:    truncate(f.Reason, MaxMessage),
		Properties: map[string]string{"container": f.Container, "image": f.Image, "policyHash": f.PolicyHash},
	}
	set := func(k, v string) {
		if v != "" {
			r.Properties[k] = v
		}
	}
	set("digest", f.Digest)
	set("digestFrom", string(f.DigestFrom))
	set("identity", strings.Join(f.Identities, ", "))
	set("mode", string(f.Mode))
	set("workload", f.Workload)
	if dt := f.Detail; dt != nil {
		set("reasonCode", dt.Code)
		set("reasonCodes", strings.Join(dt.Codes, ","))
		set("attestation", dt.Attestation)
		set("predicateType", dt.PredicateType)
		set("condition", dt.Condition)
		set("observed", truncate(dt.Observed, MaxObserved))
	}
	if f.Result == scan.Fail && f.Mode == "enforce" {
		r.Severity = "high" // the webhook denies it: a restart will not come back
	}
	return r
}

// NamespaceSummary renders a namespace's findings as one result for the
// cluster report: the worst outcome, with the counts.
func NamespaceSummary(ns string, s scan.Summary, policyName string, newest metav1.Timestamp) Result {
	r := Result{Source: Source, Policy: policyName, Rule: "namespace-summary", Category: Category, Scored: true, Timestamp: newest,
		Resources:  []corev1.ObjectReference{{APIVersion: "v1", Kind: "Namespace", Name: ns}},
		Properties: map[string]string{"pass": fmt.Sprint(s.Pass), "fail": fmt.Sprint(s.Fail), "error": fmt.Sprint(s.Error), "skip": fmt.Sprint(s.Skip)},
	}
	total := s.Pass + s.Fail + s.Error + s.Skip
	switch {
	case s.Fail > 0:
		r.Result = ResultFail
	case s.Error > 0:
		r.Result = ResultError
	case s.Pass > 0:
		r.Result = ResultPass
	default:
		r.Result = ResultSkip
	}
	r.Message = fmt.Sprintf("%d of %d running images pass; %d fail, %d could not be verified, %d not verified", s.Pass, total, s.Fail, s.Error, s.Skip)
	return r
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
