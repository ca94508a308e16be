#!/usr/bin/env bash
# Builds `sign` from the signet source tree this script belongs to (the exact
# commit a `uses:` ref names), for the composite actions when no pinned
# release fits. With a KMS key (SIGNET_KEY=awskms://... etc.) it also builds
# sign's KMS plugin, signet-kms, beside it.
#
# The build runs in a clean Go environment: only PATH (setup-go's go), the
# runner's proxy settings and what is set here. Not the job's GOFLAGS
# (-toolexec, -overlay, -modfile), GOWORK, GOPROXY, GONOSUMDB/GOPRIVATE/
# GOINSECURE, CGO flags or Go config file (GOENV); fresh GOCACHE and
# GOMODCACHE (never a restored or inherited cache: its objects would be linked
# into the binary that holds the job's OIDC token); -mod=readonly: every
# module must match signet's go.sum; GOTOOLCHAIN=local: no toolchain download.
#
# Environment:
#   RUNNER_TEMP   where the binaries (signet-bin/) and the throwaway caches go
#   GO_PROXY      module proxy (default https://proxy.golang.org)
#   SIGNET_KEY    a KMS URI also builds signet-kms
#   GITHUB_PATH   when set, signet-bin/ is added to PATH
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="${RUNNER_TEMP:?RUNNER_TEMP is required}/signet-bin"
mkdir -p "$dest"
work="$(mktemp -d "${RUNNER_TEMP}/signet-go.XXXXXX")"
mkdir -p "$work/home"
clean=(env -i "PATH=$PATH" "HOME=$work/home" "TMPDIR=$work"
  GOENV=off GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
  "GOPROXY=${GO_PROXY:-https://proxy.golang.org}" GOSUMDB=sum.golang.org "GOCACHE=$work/cache" "GOMODCACHE=$work/mod")
for v in HTTPS_PROXY HTTP_PROXY NO_PROXY https_proxy http_proxy no_proxy; do
  if [ -n "${!v:-}" ]; then clean+=("$v=${!v}"); fi
done
(cd "$root" && "${clean[@]}" go build -trimpath -o "$dest/sign" ./cmd/sign)
case "${SIGNET_KEY:-}" in
  awskms://*|azurekms://*|gcpkms://*|hashivault://*)
    (cd "$root" && "${clean[@]}" go build -trimpath -o "$dest/signet-kms" ./cmd/signet-kms)
    "$dest/signet-kms" link "$dest" ;;
esac
chmod -R u+w "$work" && rm -rf "$work"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$dest" >> "$GITHUB_PATH"; fi
"$dest/sign" version
