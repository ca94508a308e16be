package main

import (
	"log/slog"

	"github.com/signet-dev/signet/enforce"
)

// logAdmission logs every image decision of an admission as one JSON line
// (once per admission, by the pass that decides it): the policy hash and
// the identity that satisfied it, or the reasons it did not.
func logAdmission(log *slog.Logger) func(*enforce.Admission) {
	return func(a *enforce.Admission) {
		req := a.Request
		for i, img := range a.Images {
			d := a.Decisions[i]
			attrs := []any{"namespace", req.Namespace, "kind", req.Kind.Kind, "name", req.Name, "uid", req.UID,
				"where", img.Where, "image", img.Image, "digest", d.Digest, "result", string(a.ImageResult(i)), "policyHash", a.PolicyHash}
			if d.Rule != nil {
				attrs = append(attrs, "rule", d.Rule.Name)
			}
			if len(d.Signatures) > 0 {
				attrs = append(attrs, "identity", d.Signatures[0].Identity)
			}
			if len(d.Reasons) > 0 {
				attrs = append(attrs, "reasons", d.Reasons)
				log.Warn("image decision", attrs...)
				continue
			}
			log.Info("image decision", attrs...)
		}
	}
}
