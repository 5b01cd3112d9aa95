#!/usr/bin/env bash
# Builds the livegate Debian packages with cargo-deb (metadata: [package.metadata.deb]
# in Cargo.toml, maintainer scripts in debian/, the unit in systemd/).
# Usage: scripts/package.sh [amd64|arm64|armhf|all]   (default: this machine's arch)
#   amd64/native  `cargo deb` (one release build, by cargo-deb itself)
#   arm64         scripts/build-aarch64.sh (Debian's rustc-web, checked under qemu),
#                 then `cargo deb --no-build` on target/cross; aarch64-linux-gnu-strip
#   armhf         shared/cross-build.md's armv7 recipe: -Zbuild-std from rust-web-src
# The man page and the shell completions are generated first, for every architecture,
# by the host's build of the same source (`livegate generate-assets`: the CLI does not
# depend on the architecture), into target/assets/, which the assets name.
# Every .deb lands in target/debian/; each is checked (no key inside, the conffile,
# the unit, the man page, completions, changelog, copyright, md5sums), summarised
# with dpkg-deb -I / -c, and must pass lintian with no error and no warning.
set -euo pipefail
cd "$(dirname "$0")/.."

out=target/debian
host_arch=$(dpkg --print-architecture)
cargo_deb_version=3.8.0

say() { printf '\n== package: %s\n' "$*"; }
die() { echo "package: $*" >&2; exit 1; }

ensure_cargo_deb() {
  if cargo deb --version >/dev/null 2>&1; then
    return 0
  fi
  # From crates.io; about 70 s on a 2-core machine.
  say "installing cargo-deb $cargo_deb_version"
  cargo install cargo-deb --locked --version "=$cargo_deb_version"
}

# Another aarch64 build in target/cross (by hand, or CI) would fight over the
# directory's lock: wait for it rather than queue a second one behind it.
wait_for_other_builds() {
  local waited=0
  while pgrep -f 'scripts/build-aarch64\.sh' >/dev/null; do
    [ "$waited" -eq 0 ] && echo "package: waiting for a running build-aarch64.sh" >&2
    sleep 10
    waited=$((waited + 10))
    [ "$waited" -lt 3600 ] || die "build-aarch64.sh still running after an hour"
  done
}

# target/assets/: livegate.1.gz (gzip -9n: no name or time inside, reproducible)
# and the bash, zsh and fish completions, from the host's debug build.
generate_assets() {
  say "man page and completions from the CLI (host build: livegate generate-assets)"
  rm -rf target/assets
  SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -STimestamp) \
    cargo run --locked --quiet --bin livegate -- generate-assets target/assets
  gzip -9n target/assets/livegate.1
}

# cargo-deb writes no md5sums (dpkg -V and debsums read them): repack the .deb with
# one, as dh_md5sums would (every regular file but the conffiles, which dpkg keeps
# its own sums of). Ownership root:root and the modes, mtimes and control files
# stay as cargo-deb made them.
add_md5sums() {
  local deb=$1 root
  root=$(mktemp -d)
  chmod 0755 "$root"
  dpkg-deb -R "$deb" "$root"
  (
    cd "$root"
    find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
      | grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles 2>/dev/null || true) \
      | tr '\n' '\0' | xargs -0 md5sum
  ) > "$root/DEBIAN/md5sums"
  chmod 644 "$root/DEBIAN/md5sums"
  SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -STimestamp) \
    dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
  rm -rf "$root"
}

# Checks one .deb and prints its summary.
inspect() {
  local deb=$1 arch=$2 files tmp
  [ -f "$deb" ] || die "no package at $deb"
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$arch" ] || die "$deb is not for $arch"
  # dpkg-shlibdeps found the C library (a cross build without the target's libc6
  # shlibs would silently drop it).
  dpkg-deb -f "$deb" Depends | grep -q 'libc6 (>= ' || die "$deb: no libc6 in Depends"
  files=$(dpkg-deb -c "$deb")
  # No key of any kind is shipped: the technician provides /etc/livegate/aigen-key.
  if grep -Ei 'aigen-key|\.key$|\.pem$|credential' <<<"$files"; then
    die "$deb contains a key-like file (above)"
  fi
  for f in ./usr/bin/livegate ./etc/livegate/livegate.toml \
           ./usr/lib/systemd/system/livegate.service \
           ./usr/share/doc/livegate/examples/livegate-pi.toml \
           ./usr/share/man/man1/livegate.1.gz \
           ./usr/share/bash-completion/completions/livegate \
           ./usr/share/zsh/vendor-completions/_livegate \
           ./usr/share/fish/vendor_completions.d/livegate.fish \
           ./usr/share/doc/livegate/changelog.Debian.gz \
           ./usr/share/doc/livegate/copyright \
           ./usr/share/doc/livegate/docs/screens/README.md; do
    grep -q " $f\$" <<<"$files" || die "$deb lacks $f"
  done
  tmp=$(mktemp -d)
  dpkg-deb -e "$deb" "$tmp/control"
  grep -qx '/etc/livegate/livegate.toml' "$tmp/control/conffiles" \
    || die "$deb: /etc/livegate/livegate.toml is not a conffile"
  grep -q ' usr/bin/livegate$' "$tmp/control/md5sums" || die "$deb: no md5sums for the binary"
  ! grep -q ' etc/' "$tmp/control/md5sums" || die "$deb: a conffile in md5sums"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/system/livegate.service \
    | cmp -s - systemd/livegate.service || die "$deb: the unit differs from systemd/livegate.service"
  rm -rf "$tmp"

  say "$deb ($(stat -c %s "$deb") bytes, $(du -h "$deb" | cut -f1))"
  dpkg-deb -I "$deb"
  echo "-- files"
  printf '%s\n' "$files"
  echo "-- conffiles"
  dpkg-deb -I "$deb" conffiles
  lint "$deb"
}

# lintian: no error and no warning (info and pedantic tags are shown, not fatal).
lint() {
  local deb=$1
  say "lintian $deb"
  lintian --info --fail-on error,warning "$deb" || die "$deb: lintian found errors or warnings (above)"
  echo "lintian: no errors, no warnings"
}

deb_path() { # arch -> the path cargo-deb writes
  local version
  version=$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"name":"livegate","version":"\([^"]*\)".*/\1/p')
  echo "$out/livegate_${version}-1_$1.deb"
}

build_native() {
  say "$host_arch: cargo deb (release build)"
  scripts/setup.sh
  cargo deb --locked --output "$out/"
  add_md5sums "$(deb_path "$host_arch")"
  inspect "$(deb_path "$host_arch")" "$host_arch"
}

build_arm64() {
  say "arm64: aarch64 binary (scripts/build-aarch64.sh), then cargo deb --no-build"
  wait_for_other_builds
  scripts/build-aarch64.sh
  # cargo-deb finds /usr/bin/aarch64-linux-gnu-strip by itself; named here so a
  # missing one fails loudly instead of packing an unstripped binary.
  command -v aarch64-linux-gnu-strip >/dev/null || die "aarch64-linux-gnu-strip missing"
  env STRIP_aarch64-linux-gnu=/usr/bin/aarch64-linux-gnu-strip \
    CARGO_TARGET_DIR=target/cross \
    cargo deb --locked --no-build --target aarch64-unknown-linux-gnu --output "$out/"
  add_md5sums "$(deb_path arm64)"
  inspect "$(deb_path arm64)" arm64
}

build_armhf() {
  say "armhf: armv7 binary with -Zbuild-std (shared/cross-build.md), then cargo deb --no-build"
  scripts/apt-need.sh --foreign-arch armhf rustc-web cargo-web rust-web-src gcc-arm-linux-gnueabihf \
    libc6-dev-armhf-cross libc6:armhf libgcc-s1:armhf qemu-user libclang-dev cmake
  local triple=armv7-unknown-linux-gnueabihf
  # Its own target dir: RUSTC_BOOTSTRAP and build-std would otherwise invalidate
  # the aarch64 build's host artefacts in target/cross.
  local dir=target/cross-armv7
  env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc \
    CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc \
    AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar \
    CARGO_TARGET_DIR=$dir \
    /usr/bin/cargo build --release --locked -Zbuild-std=std,panic_abort \
      --target "$triple" --bin livegate
  local bin=$dir/$triple/release/livegate
  qemu-arm "$bin" --version
  qemu-arm "$bin" check-config --config config/livegate.toml
  command -v arm-linux-gnueabihf-strip >/dev/null || die "arm-linux-gnueabihf-strip missing"
  env STRIP_arm-linux-gnueabihf=/usr/bin/arm-linux-gnueabihf-strip \
    CARGO_TARGET_DIR=$dir \
    cargo deb --locked --no-build --target "$triple" --output "$out/"
  add_md5sums "$(deb_path armhf)"
  inspect "$(deb_path armhf)" armhf
}

build() {
  case "$1" in
    "$host_arch") build_native ;;
    arm64) build_arm64 ;;
    armhf) build_armhf ;;
    *) die "cannot build $1 on $host_arch (amd64 packages are built on amd64)" ;;
  esac
}

target=${1:-$host_arch}
case "$target" in
  amd64|arm64|armhf) ;;
  all) ;;
  -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
  *) die "unknown architecture '$target' (amd64, arm64, armhf or all)" ;;
esac

ensure_cargo_deb
# dpkg-dev: dpkg-shlibdeps (cargo-deb's $auto) and dpkg-parsechangelog; lintian: lint.
scripts/apt-need.sh dpkg-dev lintian
mkdir -p "$out"
generate_assets
if [ "$target" = all ]; then
  for a in amd64 arm64 armhf; do build "$a"; done
else
  build "$target"
fi
say "done: $(ls "$out"/*.deb | tr '\n' ' ')"
