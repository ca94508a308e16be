// Package release builds signet's release from source without a container
// engine: static, reproducible sign and enforce binaries for every platform,
// their checksums and SBOMs, and multi-arch OCI images on a base this package
// assembles itself from Debian packages (CA certificates, busybox for the
// shell variant, a nonroot user), so nothing is pulled from a public
// registry. The same inputs (source, version, SOURCE_DATE_EPOCH, .deb files)
// give the same bytes: every timestamp is the epoch, every archive is sorted.
//
// cmd/release is the command `make release` and the release workflow run;
// BuildEnforceImage is the entry point for tests that need the enforce image
// for this machine's platform in a registry.
package release
