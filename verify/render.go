package verify

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signet-dev/signet/ocisig"
)

// Verdict is the outcome in one word: ALLOW, DENY, or AUDIT (admitted,
// but it would have been denied in enforce mode).
func (d *Decision) Verdict() string {
	return verdicts[d.Outcome()]
}

var verdicts = map[Outcome]string{OutcomeAllow: "ALLOW", OutcomeDeny: "DENY", OutcomeAudit: "AUDIT"}

// Summary is a one-line explanation, for admission messages and logs.
func (d *Decision) Summary() string {
	switch {
	case len(d.Reasons) > 0:
		return fmt.Sprintf("%s: %s", d.Image, strings.Join(d.Messages(), "; "))
	case len(d.Signatures) > 0:
		s := d.Signatures[0]
		return fmt.Sprintf("%s: signed by %s (%s)", d.Image, s.Identity, s.who())
	case d.Rule != nil:
		return fmt.Sprintf("%s: allowed by %s rule %q", d.Image, d.Rule.Kind, d.Rule.Name)
	}
	return d.Image
}

// describe is a required attestation in a row: "vuln (https://…) signed
// by app-release at 2026-…Z, valid until 2026-…Z".
func (a AttestationResult) describe() string {
	s := fmt.Sprintf("%s (%s) signed by %s", a.Requirement, a.PredicateType, a.Identity)
	if a.SignedAt != nil {
		s += " at " + a.SignedAt.Format(time.RFC3339)
	}
	if a.ValidUntil != nil {
		s += ", valid until " + a.ValidUntil.Format(time.RFC3339)
	}
	return s
}

func (s SignatureResult) who() string {
	if s.Subject != "" {
		return s.Subject
	}
	return "key " + s.KeyID
}

// WriteText writes the human explanation of a decision.
func (d *Decision) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%-5s %s\n", d.Verdict(), d.Image)
	row := func(k, format string, args ...any) { fmt.Fprintf(&b, "  %-11s %s\n", k, fmt.Sprintf(format, args...)) }
	if d.Digest != "" {
		row("digest", "%s", d.Digest)
	}
	if d.Pinned != "" && d.Pinned != d.Image {
		row("pinned", "%s", d.Pinned)
	}
	if d.Rule != nil {
		row("rule", "%s (%s rule, images[%d], matched %q)", d.Rule.Name, d.Rule.Kind, d.Rule.Index, d.Rule.Pattern)
	}
	for _, s := range d.Signatures {
		extra := []string{string(s.Layout) + " layout"}
		if s.Issuer != "" {
			extra = append(extra, "issuer "+s.Issuer)
		}
		if s.LogIndex != nil {
			extra = append(extra, fmt.Sprintf("rekor log index %d", *s.LogIndex))
		}
		if s.Anchor != "" {
			extra = append(extra, "anchor "+s.Anchor)
		}
		for _, t := range s.Timestamps {
			if s.Layout == ocisig.LayoutNotation {
				extra = append(extra, "timestamp "+t.Time.Format(time.RFC3339))
			}
		}
		if s.Revocation != "" {
			extra = append(extra, "revocation "+s.Revocation)
		}
		row("signed by", "%s: %s (%s)", s.Identity, s.who(), strings.Join(extra, ", "))
	}
	for _, a := range d.Attestations {
		if a.Requirement != "" {
			row("attestation", "%s", a.describe())
			continue
		}
		src := a.SourceRepository
		if a.SourceRef != "" {
			src += "@" + a.SourceRef
		}
		row("provenance", "%s signed by %s, built by %s from %s", a.PredicateType, a.Identity, a.BuilderID, src)
	}
	for _, p := range d.Platforms {
		state := "signed"
		if !p.Signed {
			state = "NOT signed"
		}
		row("platform", "%s %s %s", p.Platform, p.Digest, state)
	}
	for _, r := range d.Reasons {
		label := "reason"
		if d.Allowed {
			label = "violation"
		}
		row(label, "%s", r.String())
	}
	if !d.Allowed || len(d.Reasons) > 0 {
		for _, r := range d.Rejected {
			row("rejected", "%s", r.Reason)
		}
	}
	row("policy", "%s (mode %s)", d.PolicyHash, d.Mode)
	_, err := io.WriteString(w, b.String())
	return err
}
