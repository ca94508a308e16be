package regclient

import (
	"fmt"
	"strings"

	"github.com/signet-dev/signet/policy"
)

// HostPattern says which registry hosts a credential may be sent to: one
// host ("registry.corp", "registry.corp:5000"), or "*.domain" where "*" is
// exactly one whole DNS label ("*.azurecr.io" is acme.azurecr.io, never
// azurecr.io, a.b.azurecr.io or acme.azurecr.io.evil.example). Hosts are
// compared as the runtime dials them (policy.CanonicalHost: case, trailing
// dots, the port as a number), never as raw strings, prefixes or suffixes.
// Pull secrets' registry keys and enforce's cloud registries both match
// with it.
type HostPattern struct {
	host     string // canonical; for a wildcard, the part after "*."
	wildcard bool
}

// ParseHostPattern reads "host[:port]" or "*.domain[:port]". A scheme or
// path is refused: a pattern names hosts only.
func ParseHostPattern(s string) (HostPattern, error) {
	var p HostPattern
	rest, wild := strings.CutPrefix(s, "*.")
	if strings.ContainsAny(rest, "/*?@ ") || rest == "" {
		return p, fmt.Errorf("registry host pattern %q: write a host (registry.example.com[:port]) or *.domain, without scheme or path", s)
	}
	h, err := policy.CanonicalHost(rest)
	if err != nil {
		return p, fmt.Errorf("registry host pattern %q: %w", s, err)
	}
	return HostPattern{host: h, wildcard: wild}, nil
}

// Match reports whether host ("host[:port]" as a reference names it) is one
// the pattern names. A host that is not a registry host is never matched.
func (p HostPattern) Match(host string) bool {
	h, err := policy.CanonicalHost(host)
	if err != nil {
		return false
	}
	if !p.wildcard {
		return h == p.host
	}
	label, rest, ok := strings.Cut(h, ".")
	return ok && label != "" && !strings.HasPrefix(label, "[") && rest == p.host
}

// Wildcard reports whether the pattern is "*.domain".
func (p HostPattern) Wildcard() bool { return p.wildcard }

// Domain is the host the pattern names, or for "*.domain" the domain.
func (p HostPattern) Domain() string { return p.host }

func (p HostPattern) String() string {
	if p.wildcard {
		return "*." + p.host
	}
	return p.host
}

// MatchAny reports whether any of ps names host.
func MatchAny(ps []HostPattern, host string) bool {
	for _, p := range ps {
		if p.Match(host) {
			return true
		}
	}
	return false
}
