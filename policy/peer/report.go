package peer

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Class says how signet's translation of a source construct decides
// compared with the source.
type Class string

const (
	// Equivalent: the same decisions.
	Equivalent Class = "equivalent"
	// Stricter: signet refuses (or checks) something the source allowed
	// (or never checked); the difference says what.
	Stricter Class = "stricter"
	// Weaker: signet would admit something the source refused. Never
	// silent: the import is refused unless Options.AllowWeaker, and then
	// every weaker difference is listed.
	Weaker Class = "weaker"
	// NotExpressible: signet has no counterpart; the import is refused,
	// with the reason.
	NotExpressible Class = "not-expressible"
)

// Difference is one construct of a source policy and what it became.
type Difference struct {
	Class Class `json:"class"`
	// At is the construct in the source.
	At Pos `json:"at"`
	// Source names the source object ("ClusterPolicy/check-images").
	Source string `json:"source"`
	// Rules are the trust file's rules the construct became (none when
	// refused).
	Rules []string `json:"rules,omitempty"`
	// Message says what the source did, what signet does instead, and, for
	// a refusal, what to do.
	Message string `json:"message"`
}

func (d Difference) String() string {
	rules := ""
	if len(d.Rules) > 0 {
		rules = " -> " + strings.Join(d.Rules, ", ")
	}
	return fmt.Sprintf("%s: [%s] %s%s: %s", d.At, d.Class, d.Source, rules, d.Message)
}

// Report is the change report: every difference, in source order, and the
// verdict.
type Report struct {
	// Direction is "import" (peer to signet) or "export".
	Direction string `json:"direction"`
	// Sources are the objects read, in order.
	Sources []string `json:"sources"`
	// Differences, in source order.
	Differences []Difference `json:"differences"`
	// Refused is set when a difference is not expressible, or weaker
	// without AllowWeaker: then no policy is written.
	Refused bool `json:"refused"`
	// AllowedWeaker is set when weaker differences were accepted.
	AllowedWeaker bool `json:"allowedWeaker,omitempty"`
	// Ignored are objects and rules that verify no image (a Deployment, a
	// validate rule): not imported, not differences.
	Ignored []string `json:"ignored,omitempty"`
}

// Count is how many differences of class c there are.
func (r *Report) Count(c Class) int {
	n := 0
	for _, d := range r.Differences {
		if d.Class == c {
			n++
		}
	}
	return n
}

// settle sorts the differences into source order and sets the verdict.
func (r *Report) settle(allowWeaker bool) {
	slices.SortStableFunc(r.Differences, func(a, b Difference) int {
		return cmp.Or(cmp.Compare(a.At.File, b.At.File), cmp.Compare(a.At.Line, b.At.Line), cmp.Compare(a.At.Column, b.At.Column))
	})
	r.Refused = r.Count(NotExpressible) > 0 || r.Count(Weaker) > 0 && !allowWeaker
	r.AllowedWeaker = allowWeaker && r.Count(Weaker) > 0
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for a reader: a summary line per class,
// then every difference, refusals first.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of %s\n", r.Direction, strings.Join(r.Sources, ", "))
	fmt.Fprintf(&b, "  %d equivalent, %d stricter, %d weaker, %d not expressible\n",
		r.Count(Equivalent), r.Count(Stricter), r.Count(Weaker), r.Count(NotExpressible))
	for _, c := range []Class{NotExpressible, Weaker, Stricter, Equivalent} {
		first := true
		for _, d := range r.Differences {
			if d.Class != c {
				continue
			}
			if first {
				fmt.Fprintf(&b, "\n%s:\n", classHeading(c, r))
				first = false
			}
			fmt.Fprintf(&b, "  %s\n", d)
		}
	}
	if len(r.Ignored) > 0 {
		b.WriteString("\nignored (verify no image):\n")
		for _, i := range r.Ignored {
			fmt.Fprintf(&b, "  %s\n", i)
		}
	}
	switch {
	case r.Refused && r.Count(NotExpressible) > 0:
		b.WriteString("\nrefused: the differences above marked not-expressible have no counterpart; nothing was written\n")
	case r.Refused:
		b.WriteString("\nrefused: the result would admit what the source refused (weaker, above); nothing was written. Change the source, or accept them with --allow-weaker\n")
	case r.AllowedWeaker:
		b.WriteString("\nwritten with --allow-weaker: the weaker differences above admit what the source refused\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func classHeading(c Class, r *Report) string {
	switch c {
	case NotExpressible:
		return "not expressible (refused)"
	case Weaker:
		if r.AllowedWeaker {
			return "weaker (accepted with --allow-weaker)"
		}
		return "weaker (refused without --allow-weaker)"
	case Stricter:
		return "stricter (refuses or checks more than the source)"
	}
	return "equivalent"
}
