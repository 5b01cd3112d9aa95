#!/usr/bin/env bash
# Installs what building livegate needs on a Debian / Raspberry Pi OS machine;
# with --tests, also what the tests need beside the build (socat and python3-venv for
# the OSDP panel, the face detector's test photographs from PyPI).
# Safe to run again: it only installs what is missing.
set -euo pipefail

# libclang-dev: the v4l crate generates its bindings with bindgen at build time.
# pkg-config and a C compiler: ring (TLS) builds a little C and assembly.
# git: libosdp-sys's build script runs git for its version header (OSDP).
# cmake: the turbojpeg crate builds libjpeg-turbo (the JPEG encoder) from its bundled
# source; nasm: its x86_64 SIMD (ARM's NEON needs only the C compiler).
simd=()
[ "$(uname -m)" = x86_64 ] && simd=(nasm)
"$(dirname "$0")/apt-need.sh" libclang-dev pkg-config gcc git cmake "${simd[@]}"

command -v cargo >/dev/null || {
  echo "setup: cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
}

if [ "${1:-}" = "--tests" ]; then
  # socat and python3-venv: tests/osdp.rs runs libosdp's Python panel on a pty pair.
  "$(dirname "$0")/apt-need.sh" socat python3-venv
  "$(dirname "$0")/test-pictures.sh"
fi
