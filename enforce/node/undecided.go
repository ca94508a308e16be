package node

import (
	"fmt"
	"slices"
	"strings"
)

// Undecided is the per-namespace policy for a container whose image could
// not be decided within the budget (a registry, TUF or the trusted root
// unreachable): allowed in the namespaces listed (by default kube-system:
// the node's own system pods must start when the registry is down, e.g.
// after a reboot), refused everywhere else, unless Default allows.
type Undecided struct {
	Allow []string
	// DefaultAllow allows everywhere (fail open): loudly named, never the
	// default.
	DefaultAllow bool
}

// DefaultUndecidedAllow are the namespaces where an undecided container
// starts by default.
var DefaultUndecidedAllow = []string{"kube-system"}

// Allows says whether an undecided container of ns starts.
func (u Undecided) Allows(ns string) bool { return u.DefaultAllow || slices.Contains(u.Allow, ns) }

// ParseUndecided reads "deny" or "allow" and the namespaces that allow.
func ParseUndecided(def string, allow []string) (Undecided, error) {
	u := Undecided{Allow: allow}
	switch strings.ToLower(def) {
	case "deny", "":
	case "allow":
		u.DefaultAllow = true
	default:
		return u, fmt.Errorf("undecided policy %q: want deny or allow", def)
	}
	return u, nil
}
