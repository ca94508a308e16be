package peer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// nsScope is what a source rule says of namespaces. The trust file has
// one set of audit and one of exempt namespaces for every rule, so a
// namespace is audited (or exempt) there only when every rule audits (or
// skips) it; a rule that audits it alone is enforced there (stricter).
type nsScope struct {
	// auditIn are namespaces where an enforcing rule only audits
	// (Kyverno's validationFailureActionOverrides).
	auditIn []string
	// excluded are namespaces the rule does not apply in.
	excluded []string
	// restricted says the rule applies only in some namespaces or to some
	// resources (match by namespace, selector or user): signet checks it
	// everywhere.
	restricted []string
}

// applyNamespaces sets the enforcement section from the rules' scopes and
// reports what it changes for each rule.
func (c *converter) applyNamespaces() {
	var live []*sourceRule
	for _, r := range c.rules {
		if !r.refused {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	audit := intersect(live, func(r *sourceRule) []string {
		if r.req.mode == policy.ModeAudit {
			return nil // audited everywhere already
		}
		return append(slices.Clone(r.ns.auditIn), r.ns.excluded...)
	})
	exempt := intersect(live, func(r *sourceRule) []string { return r.ns.excluded })
	audit = slices.DeleteFunc(audit, func(n string) bool { return slices.Contains(exempt, n) })
	var patterns []string // reported once, for every rule
	audit, exempt = c.namespaceNames(audit, "audited", &patterns), c.namespaceNames(exempt, "exempted", &patterns)
	if len(audit)+len(exempt) > 0 {
		c.spec.Enforcement = &policy.EnforcementSpec{Namespaces: &policy.NamespacesSpec{Audit: audit, Exempt: exempt}}
	}
	for _, r := range live {
		for _, n := range r.ns.auditIn {
			if !slices.Contains(audit, n) && !slices.Contains(exempt, n) && !slices.Contains(patterns, n) {
				c.ruleNote(r, Stricter, r.at, "audits namespace %s only for this rule; the trust file audits a namespace for every rule, so signet enforces this rule there", n)
			}
		}
		for _, n := range r.ns.excluded {
			if !slices.Contains(exempt, n) && !slices.Contains(audit, n) && !slices.Contains(patterns, n) {
				c.ruleNote(r, Stricter, r.at, "does not apply in namespace %s, where other rules do; signet applies it there too", n)
			}
		}
		for _, what := range r.ns.restricted {
			c.ruleNote(r, Stricter, r.at, "applies only %s; signet applies it to every workload in every namespace", what)
		}
	}
	for _, n := range exempt {
		c.note(Equivalent, Pos{File: "(scope)"}, "(all)", "namespace %s: no rule applies there; it is exempt (enforcement.namespaces.exempt)", n)
	}
	for _, n := range audit {
		c.note(Equivalent, Pos{File: "(scope)"}, "(all)", "namespace %s: every rule only audits there; it is an audit namespace (enforcement.namespaces.audit)", n)
	}
}

// namespaceNames keeps the names among Kyverno's namespace entries: a
// wildcard (dev-*) has no trust-file form (enforcement.namespaces lists
// names), so the namespaces it matched are enforced there (stricter).
func (c *converter) namespaceNames(ns []string, was string, patterns *[]string) []string {
	return slices.DeleteFunc(ns, func(n string) bool {
		if !strings.ContainsAny(n, "*?") {
			return false
		}
		*patterns = append(*patterns, n)
		c.note(Stricter, Pos{File: "(scope)"}, "(all)", "namespace pattern %s: the source %s every namespace it matches; "+
			"enforcement.namespaces lists names, so signet enforces them: list them by name, or label them and use "+
			"enforcement.namespaces.auditLabels or exemptLabels", n, was)
		return true
	})
}

// intersect is the namespaces every rule's f names.
func intersect(rules []*sourceRule, f func(*sourceRule) []string) []string {
	out := slices.Clone(f(rules[0]))
	for _, r := range rules[1:] {
		have := f(r)
		out = slices.DeleteFunc(out, func(n string) bool { return !slices.Contains(have, n) })
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ruleNote records a difference about source rule r.
func (c *converter) ruleNote(r *sourceRule, class Class, at Pos, format string, args ...any) {
	c.note(class, at, r.source, "%s", fmt.Sprintf(format, args...))
	r.diffs = append(r.diffs, len(c.report.Differences)-1)
}
