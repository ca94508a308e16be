package enforce

import "log/slog"

// LogAdmission records every image decision of an admission in log, one
// record each (a JSON line under enforce serve's handler): where the image
// is, its digest and result, the policy hash and the identity that
// satisfied it (Info), or the reasons it did not (Warn). Record an
// admission once, by the pass that decides it (Admission.Decides).
func LogAdmission(log *slog.Logger) func(*Admission) {
	return func(a *Admission) {
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
			if a.keepsTag(i) {
				attrs = append(attrs, "pinned", false) // pin: false: the spec keeps its tag
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
