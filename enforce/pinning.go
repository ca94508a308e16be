package enforce

import (
	"fmt"

	"github.com/signet-dev/signet/policy"
	"github.com/signet-dev/signet/verify"
)

// ruleKeepsTag reports whether the rule that decided d says `pin: false`: the
// image is admitted by the digest it was verified at without rewriting the
// workload's reference, so a GitOps tool comparing it with Git sees no
// drift. d.Rule is the current policy's (verify.Target.Present), so its
// index is p's.
func ruleKeepsTag(p *policy.Policy, d *verify.Decision) bool {
	return d != nil && d.Rule != nil && d.Digest != "" && d.Rule.Index >= 0 && d.Rule.Index < len(p.Rules) && p.Rules[d.Rule.Index].NoPin
}

// markKeptTags records, per image, whether its rule keeps the tag.
func (a *Admission) markKeptTags(p *policy.Policy) {
	a.KeepsTag = make([]bool, len(a.Images))
	for i, d := range a.Decisions {
		a.KeepsTag[i] = ruleKeepsTag(p, d)
	}
}

// keepsTag reports whether image i keeps its tag (false when unmarked).
func (a *Admission) keepsTag(i int) bool { return i < len(a.KeepsTag) && a.KeepsTag[i] }

// keptTagNotes say, once per admission, which images were admitted without
// the pin and what that means: each was verified at the digest its tag
// names now, and the node pulls what the tag names when it starts the
// container (the background verifier reports that digest).
func (a *Admission) keptTagNotes() []string {
	var out []string
	for i, img := range a.Images {
		d := a.Decisions[i]
		if !a.keepsTag(i) || d.Pinned == img.Image || len(d.Reasons) > 0 {
			continue
		}
		out = append(out, fmt.Sprintf("signet: %s (%s) verified at %s, the digest its tag names now; the spec keeps its tag (rule %q has pin: false), so a node pulls what the tag names when it starts the container",
			img.Where, img.Image, d.Digest, d.Rule.Name))
	}
	return out
}
