#!/usr/bin/env bash
# Builds livegate for 64-bit Raspberry Pi OS (aarch64) on a Debian bookworm x86_64
# machine without containers, and checks the binary starts under qemu-aarch64.
# (See shared/cross-build.md for why: Debian's rustc-web with its arm64 std.)
# Usage: scripts/build-aarch64.sh [--smoke]
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/apt-need.sh --foreign-arch arm64 rustc-web cargo-web libstd-rust-web-dev:arm64 \
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libclang-dev cmake

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
# Separate from the host's target/ so the two toolchains never share artefacts.
export CARGO_TARGET_DIR=target/cross
/usr/bin/cargo build --release --locked --target aarch64-unknown-linux-gnu --bin livegate

bin=target/cross/aarch64-unknown-linux-gnu/release/livegate
file "$bin" 2>/dev/null || true
ls -l "$bin"
# qemu without -L: with it the binary hangs at its first thread (two glibcs mix).
qemu-aarch64 "$bin" --version
qemu-aarch64 "$bin" check-config --config config/livegate.toml
if [ "${1:-}" = "--smoke" ]; then
  qemu-aarch64 "$bin" simulate --sessions 1 --performer pass --events json > target/cross/simulate.jsonl
  grep -q '"verdict":"pass"' target/cross/simulate.jsonl
  echo "aarch64: one simulated session passed under qemu"
fi
