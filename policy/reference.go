package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Rules select images by repository, so every way of writing one
// repository must normalize to one name, in references and in rule
// patterns alike, or a deny rule on one spelling is bypassed by another.
//
// go-containerregistry's name package rewrites "docker.io" to
// "index.docker.io" and adds Docker Hub's implicit "library/" there, but
// leaves as written everything else the container runtime reads as the
// same registry: the other spellings of Docker Hub ("registry-1.docker.io",
// "registry.hub.docker.com"), the case of the host (DNS names are
// case-insensitive: "GHCR.IO" is ghcr.io), trailing dots, the port as
// digits (the runtime dials ":0443" as 443, HTTPS's default) and the many
// texts of one IPv6 address. signet normalizes those too, and refuses a
// host whose address depends on the resolver that reads it ("127.1",
// "0x7f.0.0.1": glibc reads them as 127.0.0.1, Go's resolver as names).

// DockerHub is the one name of Docker Hub's registry in normalized
// repositories (go-containerregistry's name.DefaultRegistry).
const DockerHub = name.DefaultRegistry

// dockerHubAliases are the hosts that serve Docker Hub's registry.
var dockerHubAliases = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true,
}

// HostError is a registry host no rule can be matched against: the runtime
// could not dial it (a port out of range), or would dial a different
// address depending on its resolver. An image naming it is refused.
type HostError struct {
	Host, Reason string
}

func (e *HostError) Error() string {
	return fmt.Sprintf("registry host %q %s", e.Host, e.Reason)
}

// NormalizeRepository returns the fully qualified repository of an image
// reference, the way the container runtime resolves it: "nginx",
// "docker.io/nginx", "registry-1.docker.io/library/nginx" and
// "index.docker.io:0443/library/nginx" are all "index.docker.io/library/nginx".
// Tags and digests are dropped; they do not select rules.
func NormalizeRepository(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	repo, err := canonicalRepository(ref.Context().Name())
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	// ggcr validates the repository before Docker Hub's implicit "library/"
	// is added; the runtime's grammar limits the full path. A reference
	// whose normalized form is not itself a valid reference is refused.
	if _, path, _ := strings.Cut(repo, "/"); len(path) > maxRepositoryLength {
		return "", fmt.Errorf("parsing image reference %q: repository path is %d characters, the limit is %d", image, len(path), maxRepositoryLength)
	}
	return repo, nil
}

// maxRepositoryLength is the reference grammar's limit on a repository path.
const maxRepositoryLength = 255

// canonicalRepository normalizes "host/path" (a repository as ggcr names
// it, or a literal rule pattern): the host per CanonicalHost, and Docker
// Hub's one-segment paths under "library/". It is idempotent and cheap (no
// allocation for a name that is already canonical).
func canonicalRepository(repo string) (string, error) {
	host, path, ok := strings.Cut(repo, "/")
	if !ok {
		return repo, nil
	}
	h, err := CanonicalHost(host)
	if err != nil {
		return "", err
	}
	if h == DockerHub && !strings.Contains(path, "/") && path != "**" {
		path = "library/" + path
	} else if h == host {
		return repo, nil
	}
	return h + "/" + path, nil
}

// CanonicalHost names a registry host ("host[:port]") as the runtime
// reaches it: lower case, trailing dots dropped, the port as a number
// (HTTPS's default dropped), an IPv6 literal in its RFC 5952 form (an
// IPv4-mapped one as the IPv4 address), and every Docker Hub alias
// DockerHub. Rules match repositories on it, and credentials are matched
// to registries on it (regclient.HostPattern). A host the runtime could not
// dial, or would dial at a resolver-dependent address, is a *HostError.
func CanonicalHost(host string) (string, error) {
	lower := asciiLower(host)
	hostname, port := splitPort(lower)
	port, err := canonicalPort(host, port)
	if err != nil {
		return "", err
	}
	hostname, err = canonicalHostname(host, hostname, port)
	if err != nil {
		return "", err
	}
	h := lower
	if len(hostname)+len(port) != len(lower) || !strings.HasPrefix(lower, hostname) || !strings.HasSuffix(lower, port) {
		h = hostname + port
	}
	if dockerHubAliases[h] {
		return DockerHub, nil
	}
	return h, nil
}

// canonicalHostname is a lower-case hostname without its port: an IPv6
// literal in one form, trailing dots dropped ("ghcr.io." is ghcr.io; "x."
// must stay a registry, not become a Docker Hub owner), and a numeric host
// only as a dotted quad.
func canonicalHostname(host, hostname, port string) (string, error) {
	if strings.HasPrefix(hostname, "[") {
		return canonicalIPv6(host, hostname)
	}
	short := strings.TrimRight(hostname, ".")
	if numericHost(short) {
		if a, err := netip.ParseAddr(short); err != nil || !a.Is4() || a.String() != short || short != hostname {
			return "", &HostError{Host: host, Reason: "is a numeric address only some resolvers read (glibc reads \"127.1\" and \"0x7f.0.0.1\" as 127.0.0.1, Go as names); write it as a.b.c.d"}
		}
		return short, nil
	}
	if isRegistry(short + port) {
		return short, nil
	}
	return hostname, nil
}

// canonicalIPv6 writes "[addr]" in RFC 5952 form; an IPv4-mapped address
// reaches the IPv4 host, so it is written as that.
func canonicalIPv6(host, hostname string) (string, error) {
	inner, ok := strings.CutSuffix(hostname[1:], "]")
	a, err := netip.ParseAddr(inner)
	if !ok || err != nil || !a.Is6() || a.Zone() != "" {
		return "", &HostError{Host: host, Reason: "is not an IPv6 address in brackets"}
	}
	if a.Is4In6() {
		return a.Unmap().String(), nil
	}
	if s := a.String(); len(s) != len(inner) || s != inner {
		return "[" + s + "]", nil
	}
	return hostname, nil
}

// numericHost reports a hostname every label of which is a number as
// inet_aton reads one (decimal, 0-prefixed octal or 0x-prefixed hex).
func numericHost(h string) bool {
	for label := range strings.SplitSeq(h, ".") {
		digits, set := label, "0123456789"
		if rest, ok := strings.CutPrefix(label, "0x"); ok {
			digits, set = rest, "0123456789abcdef"
		}
		if digits == "" || strings.Trim(digits, set) != "" {
			return false
		}
	}
	return h != ""
}

// canonicalPort reads port (":digits", or "") as the runtime dials it: a
// number from 1 to 65535, leading zeros ignored, HTTPS's default (443)
// dropped.
func canonicalPort(host, port string) (string, error) {
	if port == "" {
		return "", nil
	}
	digits := port[1:]
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return "", &HostError{Host: host, Reason: "has a port that is not a number"}
	}
	trimmed := strings.TrimLeft(digits, "0")
	n, err := strconv.Atoi(trimmed)
	if len(trimmed) > 5 || err != nil || n < 1 || n > 65535 {
		return "", &HostError{Host: host, Reason: fmt.Sprintf("has port %s, outside 1-65535", digits)}
	}
	switch {
	case n == 443:
		return "", nil
	case len(trimmed) == len(digits):
		return port, nil
	}
	return ":" + trimmed, nil
}

// hostPattern is CanonicalHost for a host written with wildcards: case,
// the port as a number and trailing dots (Docker Hub's aliases cannot be
// told apart under a wildcard, and need not be: DockerHub is one of them).
// A port that is no number is kept as written: the pattern then matches
// no image, since such an image is refused.
func hostPattern(h string) string {
	hostname, port := splitPort(asciiLower(h))
	if short := strings.TrimRight(hostname, "."); short != "" {
		hostname = short
	}
	if p, err := canonicalPort(h, port); err == nil {
		port = p
	}
	return hostname + port
}

// splitPort splits "host:port" (or "[v6]:port") into the hostname and
// ":port" ("" when there is none).
func splitPort(h string) (hostname, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i:]
	}
	return h, ""
}

// asciiLower lower-cases ASCII letters only (DNS names are
// case-insensitive in ASCII), without allocating when there are none.
func asciiLower(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// isRegistry reports whether the first segment of a name is a registry host
// (the runtime's rule: it contains "." or ":", or is "localhost").
func isRegistry(segment string) bool {
	return strings.ContainsAny(segment, ".:") || segment == "localhost"
}

// normalizePattern applies the runtime's defaulting to a match pattern, so
// "docker.io/bitnami/**", "registry-1.docker.io/bitnami/**" and
// "bitnami/**" mean the same, and "nginx" means the official image. A
// pattern whose first segment is a wildcard is taken as written, but for
// the case of that segment: it is always matched against a host.
func normalizePattern(p string) string {
	first, rest, hasRest := strings.Cut(p, "/")
	switch {
	case strings.ContainsAny(first, "*?") && hasRest:
		return hostPattern(first) + "/" + rest
	case strings.ContainsAny(first, "*?"):
		return hostPattern(p)
	case !isRegistry(first) && !hasRest:
		return DockerHub + "/library/" + p
	case !isRegistry(first):
		return DockerHub + "/" + p
	}
	if repo, err := canonicalRepository(p); err == nil {
		return repo
	}
	return p // a host no image can name (see HostError): it matches nothing
}
