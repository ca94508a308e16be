#!/usr/bin/env bash
# Installs a pinned `sign` release binary after verifying its SHA-256 against
# the checksums pinned below (never against a checksum file downloaded from the
# same place as the binary). Used by action.yml and setup/action.yml; also
# usable on its own:
#
#   SIGNET_VERSION=v0.2.0 bash install-sign.sh     # installs into $SIGNET_INSTALL_DIR
#   SIGNET_VERSION=v0.2.0 bash install-sign.sh --pinned   # exit 0 if a checksum is pinned, 1 if not
#   SIGNET_VERSION=v0.2.0 BUILD_FROM_SOURCE=auto bash install-sign.sh --choose
#       # writes source=release or source=build to $GITHUB_OUTPUT (build-sign.sh builds)
#
# On a runner with a tool cache (RUNNER_TOOL_CACHE, kept between jobs on
# self-hosted runners) the downloaded binary is kept there and reused; a
# cached copy is checked against the pinned checksum like a download, after
# it is copied out, so a tampered cache is refused, never run.
#
# Environment:
#   SIGNET_VERSION        release tag (required)
#   SIGNET_INSTALL_DIR    where to put `sign` (default: $RUNNER_TEMP/signet-bin or ./bin)
#   SIGNET_DOWNLOAD_BASE  release download base URL (default: the project's GitHub releases;
#                         set it to a mirror: the pinned checksum still decides)
#   RUNNER_TOOL_CACHE     when set, the cache for downloaded binaries
#   GITHUB_PATH           when set (GitHub Actions), the install dir is added to PATH
#   BUILD_FROM_SOURCE, SIGNET_KEY   for --choose: auto|true|false, and the key (a KMS URI builds)
set -euo pipefail

version="${SIGNET_VERSION:?SIGNET_VERSION is required (e.g. v0.2.0)}"
base="${SIGNET_DOWNLOAD_BASE:-https://github.com/signet-dev/signet/releases/download}"
dest="${SIGNET_INSTALL_DIR:-${RUNNER_TEMP:-$PWD}/signet-bin}"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "::error::unsupported OS $(uname -s); use build-from-source: true" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "::error::unsupported architecture $(uname -m); use build-from-source: true" >&2; exit 2 ;;
esac

# Pinned checksums: "<version> <os>/<arch>) sha256" lines. The release
# workflow adds one entry per published binary (`release pin`, in a pull
# request after each release); an action ref can therefore only install the
# releases it knows, byte for byte, and builds the others from source.
# BEGIN signet release checksums
expected=""
case "$version $os/$arch" in
  # "v0.2.0 linux/amd64") expected=<sha256 of sign_linux_amd64> ;;
  *) ;;
esac
# END signet release checksums

if [ "${1:-}" = "--pinned" ]; then
  [ -n "$expected" ]
  exit
fi

if [ "${1:-}" = "--choose" ]; then
  case "${BUILD_FROM_SOURCE:-auto}" in
    true) src=build ;;
    false) src=release ;;
    auto)
      case "${SIGNET_KEY:-}" in
        # The pinned release is sign only; a KMS key also needs sign's KMS
        # plugin (signet-kms), which build-sign.sh builds.
        awskms://*|azurekms://*|gcpkms://*|hashivault://*) src=build ;;
        *)
          if [ -n "$expected" ]; then
            src=release
          else
            src=build
            echo "::notice::this action version pins no checksum for sign $version on $os/$arch: building sign from the action's source"
          fi ;;
      esac ;;
    *) echo "::error::input build-from-source must be auto, true or false, got '${BUILD_FROM_SOURCE}'" >&2; exit 2 ;;
  esac
  echo "source=$src" >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is required for --choose}"
  exit
fi

if [ -z "$expected" ]; then
  echo "::error::no pinned checksum for sign $version on $os/$arch in this action version; pick a signet-version this action pins, or set build-from-source: true" >&2
  exit 1
fi

asset="sign_${os}_${arch}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cache=""
if [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
  cache="$RUNNER_TOOL_CACHE/signet-sign/$version/$os-$arch"
fi
verify() { echo "$expected  $1" | sha256sum --check --strict --quiet - >/dev/null 2>&1; }
# A cached copy is copied out first and checked there: what is checked is
# what is installed.
if [ -n "$cache" ] && [ -f "$cache/sign" ] && cp "$cache/sign" "$tmp/$asset" && verify "$tmp/$asset"; then
  echo "sign $version: reusing the cached download ($cache), checksum verified"
else
  if [ -n "$cache" ] && [ -f "$cache/sign" ]; then
    echo "::warning::the cached sign in $cache does not match the pinned checksum: downloading it again"
  fi
  curl --fail --silent --show-error --location --retry 3 --proto '=https' --tlsv1.2 \
    -o "$tmp/$asset" "$base/$version/$asset"
  verify "$tmp/$asset" || {
    echo "::error::checksum mismatch for $asset $version: refusing to install" >&2
    exit 1
  }
  if [ -n "$cache" ] && mkdir -p "$cache" && cp "$tmp/$asset" "$cache/sign.$$"; then
    mv -f "$cache/sign.$$" "$cache/sign"
  fi
fi
mkdir -p "$dest"
install -m 0755 "$tmp/$asset" "$dest/sign"
if [ -n "${GITHUB_PATH:-}" ]; then echo "$dest" >> "$GITHUB_PATH"; fi
"$dest/sign" --version
