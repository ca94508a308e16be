package policy

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Rules select images by repository, so every way of writing one
// repository must normalize to one name, in references and in rule
// patterns alike, or a deny rule on one spelling is bypassed by another.
//
// go-containerregistry's name package rewrites "docker.io" to
// "index.docker.io" and adds Docker Hub's implicit "library/" there, but
// leaves the other spellings of Docker Hub ("registry-1.docker.io",
// "registry.hub.docker.com"), the case of the host (DNS names are
// case-insensitive: "GHCR.IO" is ghcr.io), a trailing dot and the default
// HTTPS port (":443") as written. signet normalizes those too.

// DockerHub is the one name of Docker Hub's registry in normalized
// repositories (go-containerregistry's name.DefaultRegistry).
const DockerHub = name.DefaultRegistry

// dockerHubAliases are the hosts that serve Docker Hub's registry.
var dockerHubAliases = map[string]bool{
	"docker.io": true, "index.docker.io": true, "registry-1.docker.io": true, "registry.hub.docker.com": true,
}

// NormalizeRepository returns the fully qualified repository of an image
// reference, the way the container runtime resolves it: "nginx",
// "docker.io/nginx", "registry-1.docker.io/library/nginx" and
// "index.docker.io:443/library/nginx" are all "index.docker.io/library/nginx".
// Tags and digests are dropped; they do not select rules.
func NormalizeRepository(image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	repo := canonicalRepository(ref.Context().Name())
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
// it, or a literal rule pattern): the host per canonicalHost, and Docker
// Hub's one-segment paths under "library/". It is idempotent and cheap (no
// allocation for a name that is already canonical).
func canonicalRepository(repo string) string {
	host, path, ok := strings.Cut(repo, "/")
	if !ok {
		return repo
	}
	h := canonicalHost(host)
	if h == DockerHub && !strings.Contains(path, "/") && path != "**" {
		path = "library/" + path
	} else if h == host {
		return repo
	}
	return h + "/" + path
}

// canonicalHost lower-cases a registry host, drops trailing dots and the
// default HTTPS port, and names every Docker Hub alias DockerHub.
func canonicalHost(host string) string {
	hostname, port := splitPort(asciiLower(host))
	h := hostname + port
	if short := strings.TrimRight(hostname, ".") + port; isRegistry(short) {
		h = short // "ghcr.io." is ghcr.io; "x." must stay a registry, not become a Docker Hub owner
	}
	if dockerHubAliases[h] {
		return DockerHub
	}
	return h
}

// hostPattern is canonicalHost for a host written with wildcards: case,
// the default port and trailing dots (Docker Hub's aliases cannot be told
// apart under a wildcard, and need not be: DockerHub is one of them).
func hostPattern(h string) string {
	hostname, port := splitPort(asciiLower(h))
	if short := strings.TrimRight(hostname, "."); short != "" {
		hostname = short
	}
	return hostname + port
}

// splitPort splits "host:port" (or "[v6]:port"); the default HTTPS port is
// dropped.
func splitPort(h string) (hostname, port string) {
	hostname = h
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		hostname, port = h[:i], h[i:]
	}
	if port == ":443" {
		port = ""
	}
	return hostname, port
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
	return canonicalRepository(p)
}
