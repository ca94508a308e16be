package main

import (
	"log/slog"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/signet-dev/signet/enforce"
	"github.com/signet-dev/signet/verify"
)

// logDecision logs every image decision as one JSON line: the policy hash
// and the identity that satisfied it, or the reasons it did not.
func logDecision(log *slog.Logger) func(*admissionv1.AdmissionRequest, enforce.Image, *verify.Decision) {
	return func(req *admissionv1.AdmissionRequest, img enforce.Image, d *verify.Decision) {
		attrs := []any{"namespace", req.Namespace, "kind", req.Kind.Kind, "name", req.Name, "uid", req.UID,
			"where", img.Where, "image", img.Image, "digest", d.Digest, "verdict", d.Verdict(), "policyHash", d.PolicyHash}
		if d.Rule != nil {
			attrs = append(attrs, "rule", d.Rule.Name)
		}
		if len(d.Signatures) > 0 {
			attrs = append(attrs, "identity", d.Signatures[0].Identity)
		}
		if len(d.Reasons) > 0 {
			attrs = append(attrs, "reasons", d.Reasons)
			log.Warn("image decision", attrs...)
			return
		}
		log.Info("image decision", attrs...)
	}
}
