#!/usr/bin/env bash
# Installs what building livegate needs on a Debian / Raspberry Pi OS machine.
# Safe to run again: it only installs what is missing.
set -euo pipefail

# libclang-dev: the v4l crate generates its bindings with bindgen at build time.
# pkg-config and a C compiler: ring (TLS) builds a little C and assembly.
packages=(libclang-dev pkg-config gcc)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || {
  echo "setup: cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
}
