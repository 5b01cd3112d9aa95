#!/usr/bin/env bash
# 32-bit Raspberry Pi OS (armv7): builds livegate's library tests and the binary for
# armv7-unknown-linux-gnueabihf on this x86_64 machine, and runs them under qemu-arm.
# Proves the core, the adapters' unit tests and the CLI on a 32-bit ARM target.
#
# Debian bookworm's armhf std is older than its rustc-web, so std is built from
# rust-web-src (-Zbuild-std; see shared/cross-build.md). Linked statically, so no
# armhf libraries (no foreign dpkg architecture) are needed to run under qemu-arm.
# The dev profile at opt-level 1: not a second release build, yet fast enough under
# emulation. The release armhf .deb: scripts/package.sh armhf.
# Usage: scripts/test-armv7.sh
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
scripts/apt-need.sh rustc-web cargo-web rust-web-src gcc-arm-linux-gnueabihf \
  libc6-dev-armhf-cross qemu-user libclang-dev cmake

triple=armv7-unknown-linux-gnueabihf
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUNNER=qemu-arm
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS="-C target-feature=+crt-static"
export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc
export AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar
export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_DEV_OPT_LEVEL=1
# Its own target dir: build-std and RUSTC_BOOTSTRAP must not touch other builds.
export CARGO_TARGET_DIR=target/cross-armv7-test
build=(-Zbuild-std=std,panic_unwind,panic_abort,test --locked --target "$triple")

/usr/bin/cargo build "${build[@]}" --bin livegate
/usr/bin/cargo test "${build[@]}" --lib --no-run
echo "test-armv7: built in $(( $(date +%s) - started ))s"

bin=$CARGO_TARGET_DIR/$triple/debug/livegate
file "$bin" 2>/dev/null || true
if readelf -l "$bin" | grep -q 'program interpreter'; then
  echo "test-armv7: $bin is not statically linked" >&2
  exit 1
fi
qemu-arm "$bin" --version
qemu-arm "$bin" check-config --config config/livegate.toml
qemu-arm "$bin" check-config --config config/livegate-pi.toml
qemu-arm "$bin" simulate --sessions 1 --performer pass --events json \
  > "$CARGO_TARGET_DIR/simulate.jsonl"
grep -q '"event":"verdict","session":1,"verdict":"pass"' "$CARGO_TARGET_DIR/simulate.jsonl"
echo "test-armv7: one simulated session passed under qemu-arm"
# --lib over the default members: the unit tests of livegate and of livegate-core.
/usr/bin/cargo test "${build[@]}" --lib
echo "test-armv7: done in $(( $(date +%s) - started ))s"
