package policy

import "gopkg.in/yaml.v3"

// Warnings about conditions.
const (
	// WarnConditionAlwaysTrue: a condition that holds whatever the
	// attestation says (it folds to true without reading it): it checks
	// nothing but that the attestation exists.
	WarnConditionAlwaysTrue WarningCode = "condition-always-true"
	// WarnConditionAlwaysFalse: a condition no attestation can satisfy:
	// every image under the rule is denied.
	WarnConditionAlwaysFalse WarningCode = "condition-always-false"
)

// constantCondition warns about a condition whose value does not depend
// on the attestation (cel-go's constant folding reduces it to a literal).
func (l *loader) constantCondition(c *Condition, n *yaml.Node) {
	v, ok := c.constantValue()
	switch {
	case !ok:
	case v:
		l.d.warnf(n, c.Field, WarnConditionAlwaysTrue,
			"condition %q is always true, whatever the attestation says: it checks only that one exists; compare a field of predicate (or remove the condition)", c.Name)
	default:
		l.d.warnf(n, c.Field, WarnConditionAlwaysFalse,
			"condition %q is always false: every image under the rule is denied", c.Name)
	}
}
