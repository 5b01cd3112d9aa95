#!/usr/bin/env bash
# Installs the Debian packages named that are not installed yet (nothing when all are).
# Usage: scripts/apt-need.sh [--foreign-arch ARCH] PACKAGE...
#   --foreign-arch ARCH  adds dpkg's foreign architecture ARCH first (for PACKAGE:ARCH)
# Used by setup.sh, build-aarch64.sh, test-armv7.sh and package.sh.
set -euo pipefail

arch=""
if [ "${1:-}" = "--foreign-arch" ]; then
  arch=$2
  shift 2
fi
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ -n "$arch" ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
  $sudo dpkg --add-architecture "$arch"
fi
echo "apt-need: installing ${missing[*]}" >&2
# A foreign architecture's index can fail on one suite (bookworm-security's armhf
# "File has unexpected size" was seen): the install then says whether what it needs
# was found in the others.
$sudo apt-get update -qq || echo "apt-need: apt-get update reported errors; trying the install" >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
