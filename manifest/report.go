package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// WriteJSON writes the report as `sign verify -f -o json` does.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes one line per object and per image, the notes, and a
// summary: a pull request's reviewer reads which image of which object
// the cluster would refuse, and why.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	counts := map[Result]int{}
	images := 0
	for _, o := range r.Objects {
		fmt.Fprintf(&b, "%s:%d: %s %s/%s%s\n", o.Source, o.Line, o.Kind, o.Namespace, o.Name, modeNote(o.NamespaceMode))
		for _, ci := range o.Images {
			images++
			counts[ci.Result]++
			image := ci.Image.Image
			if image == "" {
				image = "(no image)"
			}
			fmt.Fprintf(&b, "  %-16s %s: %s%s\n", strings.ToUpper(string(ci.Result)), ci.Where, image, detail(ci))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "%s:%d: %s %s: %s\n", n.Source, n.Line, n.Kind, n.Name, n.Note)
	}
	verdict := "PASS"
	if !r.Allowed {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s: %d images in %d objects: %d allowed, %d denied, %d audit violations, %d exempt; %d objects not checked (policy %s)\n",
		verdict, images, len(r.Objects), counts[Allow], counts[Deny], counts[AuditViolation], counts[Exempt], len(r.Notes), r.PolicyHash)
	_, err := io.WriteString(w, b.String())
	return err
}

func modeNote(m policy.NamespaceMode) string {
	if m == policy.NamespaceByRule {
		return ""
	}
	return " (namespace " + string(m) + ")"
}

// detail is what an image's line adds: who signed an allowed image, why a
// denied one was refused.
func detail(ci CheckedImage) string {
	d := ci.Decision
	switch {
	case ci.Result == Exempt:
		return ""
	case d == nil:
		return ": the webhook denies a container without an image"
	case len(d.Reasons) > 0:
		return ": " + strings.Join(d.Messages(), "; ")
	}
	parts := []string{}
	if d.Digest != "" {
		parts = append(parts, d.Digest)
	}
	if d.Rule != nil {
		parts = append(parts, "rule "+d.Rule.Name)
	}
	if len(d.Signatures) > 0 {
		parts = append(parts, "signed by "+d.Signatures[0].Identity)
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
