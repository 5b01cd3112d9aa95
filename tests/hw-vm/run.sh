#!/usr/bin/env bash
# The VM hardware test tier: boots Debian's current kernel (the ABI behind the
# linux-image-amd64 metapackage, fetched now, never pinned) under qemu with an
# initramfs holding busybox, the stand-in drivers (vivid, v4l2loopback, gpio-sim and
# a recording I2C adapter built here) and the host's test build of tests/hw_vm.rs
# with the glibc it loads, and runs livegate's own adapters against them. See tests/hw-vm/README.md.
#
# Exits 0 only when the guest prints `HWVM-RESULT: PASS`. Anything else (no boot,
# timeout, no result line, a failed test) prints the guest log's tail and fails.
#
#   tests/hw-vm/run.sh [NAME...]   only the tests whose names contain a NAME (while
#                                  working on one adapter; CI runs them all)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/tests/hw-vm
out=$root/target/hw-vm
work=$out/work
mkdir -p "$work"

started=$(date +%s)
step() { printf '\n== hw-vm: %s (%ss)\n' "$*" "$(($(date +%s) - started))"; }
die() {
    echo "hw-vm: FAIL: $*" >&2
    exit 1
}

# ---------------------------------------------------------------------------------
# Test name filters, handed to the guest on the kernel command line.
filters=""
for f in "$@"; do
    case $f in
        *[!A-Za-z0-9_]* | "") die "a test name filter is letters, digits and _: $f" ;;
    esac
    filters=${filters:+$filters,}$f
done

step "packages"
apt_get() {
    if [ "$(id -u)" = 0 ]; then apt-get "$@"; else sudo apt-get "$@"; fi
}
kernel_abi() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}
kver=$(kernel_abi)
if [ -z "$kver" ]; then
    apt_get update -qq
    kver=$(kernel_abi)
fi
[ -n "$kver" ] || die "apt-cache depends linux-image-amd64 names no kernel"
echo "kernel ABI from linux-image-amd64: $kver"
need=()
for p in qemu-system-x86 kmod cpio xz-utils zstd gcc make libclang-dev binutils \
    "linux-headers-$kver"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt_get install -y -qq --no-install-recommends "${need[@]}" ||
        { apt_get update -qq && apt_get install -y -qq --no-install-recommends "${need[@]}"; }
fi

# ---------------------------------------------------------------------------------
step "kernel and busybox from Debian's packages"
debs=$out/debs
mkdir -p "$debs"
fetch() {
    local pkg=$1
    if ! compgen -G "$debs/${pkg}_*.deb" > /dev/null; then
        (cd "$debs" && apt-get download -q "$pkg" >&2) ||
            { apt_get update -qq && (cd "$debs" && apt-get download -q "$pkg" >&2); } ||
            die "cannot download $pkg"
    fi
    compgen -G "$debs/${pkg}_*.deb" | head -n 1
}
image_deb=$(fetch "linux-image-$kver")
busybox_deb=$(fetch busybox-static)
kroot=$work/kernel-$kver
if [ ! -e "$kroot/.extracted" ]; then
    rm -rf "$work"/kernel-*
    dpkg-deb -x "$image_deb" "$kroot"
    depmod -b "$kroot" "$kver"
    touch "$kroot/.extracted"
fi
bbroot=$work/busybox
if [ ! -x "$bbroot/bin/busybox" ]; then
    rm -rf "$bbroot"
    dpkg-deb -x "$busybox_deb" "$bbroot"
fi
[ -x "$bbroot/bin/busybox" ] || die "busybox-static has no /bin/busybox"

# An uncompressed vmlinux boots directly (PVH) and saves the in-guest decompression.
vmlinuz=$kroot/boot/vmlinuz-$kver
vmlinux=$work/vmlinux-$kver
if [ ! -s "$vmlinux" ]; then
    for magic in xz zstd; do
        case $magic in
            xz) pat=$'\xfd7zXZ\x00' dec=(xz -dc) ;;
            zstd) pat=$'\x28\xb5\x2f\xfd' dec=(zstd -dcq) ;;
        esac
        for off in $(LC_ALL=C grep -aboF "$pat" "$vmlinuz" | cut -d: -f1); do
            tail -c "+$((off + 1))" "$vmlinuz" | "${dec[@]}" > "$vmlinux.tmp" 2> /dev/null || true
            if [ "$(head -c 4 "$vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                mv "$vmlinux.tmp" "$vmlinux"
                break 2
            fi
        done
    done
    rm -f "$vmlinux.tmp"
fi
if [ -s "$vmlinux" ]; then
    kernel=$vmlinux
    echo "booting the uncompressed kernel $vmlinux"
else
    kernel=$vmlinuz
    echo "no xz/zstd payload found in $vmlinuz: booting it compressed (slower)"
fi

# ---------------------------------------------------------------------------------
step "the recording I2C adapter module (tests/hw-vm/fake-i2c)"
fake=$work/fake-i2c
rm -rf "$fake"
cp -r "$here/fake-i2c" "$fake"
make -s -C "/usr/src/linux-headers-$kver" M="$fake" modules 2>&1 | grep -v BTF || true
[ -f "$fake/livegate_fake_i2c.ko" ] || die "the fake I2C module did not build"

# ---------------------------------------------------------------------------------
step "gpio-sim as an out-of-tree module (from linux-source-X.Y)"
# Debian's kernels leave CONFIG_GPIO_SIM unset. gpio-sim.c (with gpiolib.h, which the
# headers package lacks) and irq_sim.c come from the linux-source package of the same
# X.Y; only those three files are extracted (streamed, ~11 s) and kept in
# target/hw-vm/src per kernel ABI, so a re-run downloads and extracts nothing.
kxy=$(echo "$kver" | cut -d. -f1,2)
simsrc=$out/src/gpio-sim-$kver # the kernel ABI: a new one fetches the matching source
if [ ! -e "$simsrc/.extracted" ]; then
    rm -rf "$simsrc"
    mkdir -p "$simsrc"
    source_deb=$(fetch "linux-source-$kxy")
    dpkg-deb --fsys-tarfile "$source_deb" |
        tar -xO "./usr/src/linux-source-$kxy.tar.xz" |
        tar -xJ -C "$simsrc" --strip-components=1 --wildcards \
            '*/drivers/gpio/gpio-sim.c' '*/drivers/gpio/gpiolib.h' '*/kernel/irq/irq_sim.c' ||
        die "cannot extract gpio-sim's sources from $source_deb"
    touch "$simsrc/.extracted"
    rm -f "$source_deb" # 140 MB; the three files are all that is needed
fi
gsim=$work/gpio-sim-$kver # built once per kernel ABI (the sources never change)
if [ ! -f "$gsim/livegate_gpio_sim.ko" ]; then
    rm -rf "$work"/gpio-sim-*
    mkdir -p "$gsim"
    cp "$simsrc/drivers/gpio/gpio-sim.c" "$simsrc/drivers/gpio/gpiolib.h" \
        "$simsrc/kernel/irq/irq_sim.c" "$gsim/"
    # irq_to_desc is not exported to modules; generic_handle_irq does the same lookup.
    sed -i 's/handle_simple_irq(irq_to_desc(irqnum))/generic_handle_irq(irqnum)/' "$gsim/irq_sim.c"
    grep -q 'generic_handle_irq(irqnum)' "$gsim/irq_sim.c" ||
        die "irq_sim.c: the irq_to_desc call moved"
    printf 'obj-m += livegate_gpio_sim.o\nlivegate_gpio_sim-y := gpio-sim.o irq_sim.o\n' \
        > "$gsim/Makefile"
    make -s -C "/usr/src/linux-headers-$kver" M="$gsim" modules 2>&1 | grep -v BTF || true
    [ -f "$gsim/livegate_gpio_sim.ko" ] || die "the gpio-sim module did not build"
fi

# ---------------------------------------------------------------------------------
step "v4l2loopback as an out-of-tree module (from v4l2loopback-dkms)"
# The MJPEG camera's stand-in: a writer in the test feeds JPEG frames, the reader sees
# MJPG. Debian ships it as DKMS source only; built here once per kernel ABI and
# package version. strlcpy is gone from newer kernels and strscpy has been exported
# since long before 6.1: replaced unconditionally.
loop_deb=$(fetch v4l2loopback-dkms)
loopv=$(basename "$loop_deb" .deb)
loopv=${loopv#v4l2loopback-dkms_}
lbuild=$work/v4l2loopback-$kver-$loopv
if [ ! -f "$lbuild/v4l2loopback.ko" ]; then
    rm -rf "$work"/v4l2loopback-*
    mkdir -p "$lbuild/pkg"
    dpkg-deb -x "$loop_deb" "$lbuild/pkg"
    lsrc=$(compgen -G "$lbuild/pkg/usr/src/v4l2loopback-*" | head -n 1)
    [ -n "$lsrc" ] && [ -f "$lsrc/v4l2loopback.c" ] || die "v4l2loopback-dkms has no source"
    cp "$lsrc"/*.c "$lsrc"/*.h "$lbuild/"
    sed -i 's/strlcpy(/strscpy(/g' "$lbuild/v4l2loopback.c"
    echo 'obj-m += v4l2loopback.o' > "$lbuild/Makefile"
    make -s -C "/usr/src/linux-headers-$kver" M="$lbuild" modules 2>&1 | grep -v BTF || true
    [ -f "$lbuild/v4l2loopback.ko" ] || die "the v4l2loopback module did not build"
fi

# ---------------------------------------------------------------------------------
step "the guest executables (tests/hw_vm.rs and livegate, the host's own test build)"
# The very executables `cargo test` builds on the host (in CI the README's test command
# has built them already, so this builds nothing): a second, static build of the whole
# dependency tree for the guest cost about 11 CPU-minutes. They are dynamically linked:
# the glibc they load is copied into the guest below, and their debug info is stripped
# on the way in.
cargo test --no-run --test hw_vm --message-format=json > "$out/build.json"
exe_of() { # kind name -> the executable cargo reported
    grep '"reason":"compiler-artifact"' "$out/build.json" | grep "\"kind\":\[\"$1\"\]" |
        grep "\"name\":\"$2\"" | grep -o '"executable":"[^"]*"' | tail -n 1 | cut -d'"' -f4
}
testbin=$(exe_of test hw_vm)
[ -n "$testbin" ] && [ -x "$testbin" ] || die "no hw_vm test executable in cargo's output"
# Cargo builds the `livegate` binary for every integration test: the whole-session
# test runs it as the service would run.
livegate_bin=$(exe_of bin livegate)
[ -n "$livegate_bin" ] && [ -x "$livegate_bin" ] || die "no livegate executable in cargo's output"
echo "test executable: $testbin; livegate executable: $livegate_bin"

# ---------------------------------------------------------------------------------
step "initramfs"
initrd=$work/initramfs
rm -rf "$initrd"
mkdir -p "$initrd"/{bin,proc,sys,dev,tmp,lib/modules}
ln -s bin "$initrd/sbin"
cp "$bbroot/bin/busybox" "$initrd/bin/busybox"
for applet in $("$bbroot/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$initrd/bin/$applet"
done
cp "$here/init.sh" "$initrd/init"
chmod 755 "$initrd/init"
objcopy --strip-debug "$testbin" "$initrd/hw_vm"
objcopy --strip-debug "$livegate_bin" "$initrd/livegate"
echo "in the guest: hw_vm $(du -h "$initrd/hw_vm" | cut -f1), livegate $(du -h "$initrd/livegate" | cut -f1)"
# The shared libraries both load (glibc, libgcc_s, the dynamic loader), at the paths
# the host's loader resolved them to.
for lib in $(ldd "$testbin" "$livegate_bin" | grep -o '/[^ ]*' | sort -u); do
    [ -e "$lib" ] || continue
    mkdir -p "$initrd$(dirname "$lib")"
    cp -L "$lib" "$initrd$lib"
done

# Module load order from modprobe's own resolution, parameters from the list below.
modlist=$initrd/modules.list
: > "$modlist"
declare -A loaded=()
add_module() { # name [params...]
    local name=$1
    shift
    local line path base
    while read -r line; do
        case $line in
            insmod\ *) ;;
            *) continue ;; # builtin
        esac
        path=$(echo "$line" | awk '{print $2}')
        base=$(basename "$path")
        base=${base%.xz}
        base=${base%.zst}
        [ -z "${loaded[$base]:-}" ] || continue
        loaded[$base]=1
        case $path in
            *.xz) xz -dc "$path" > "$initrd/lib/modules/$base" ;;
            *.zst) zstd -dcq "$path" > "$initrd/lib/modules/$base" ;;
            *) cp "$path" "$initrd/lib/modules/$base" ;;
        esac
        if [ "${base%.ko}" = "$(echo "$name" | tr - _)" ] ||
            [ "${base%.ko}" = "$name" ]; then
            echo "$base $*" >> "$modlist"
        else
            echo "$base" >> "$modlist"
        fi
    done < <(modprobe --show-depends -d "$kroot" -S "$kver" "$name" ||
        die "modprobe cannot resolve $name for $kver")
}
add_module vivid n_devs=1 node_types=1
add_module i2c-dev
add_module configfs
for dep in $(modinfo -F depends "$fake/livegate_fake_i2c.ko" | tr , ' '); do
    add_module "$dep"
done
cp "$fake/livegate_fake_i2c.ko" "$initrd/lib/modules/"
echo "livegate_fake_i2c.ko bus=1 addr=0x3c" >> "$modlist"
for dep in $(modinfo -F depends "$gsim/livegate_gpio_sim.ko" | tr , ' '); do
    add_module "$dep"
done
cp "$gsim/livegate_gpio_sim.ko" "$initrd/lib/modules/"
echo "livegate_gpio_sim.ko" >> "$modlist"
for dep in $(modinfo -F depends "$lbuild/v4l2loopback.ko" | tr , ' '); do
    add_module "$dep"
done
cp "$lbuild/v4l2loopback.ko" "$initrd/lib/modules/"
echo "v4l2loopback.ko devices=1 exclusive_caps=1 max_buffers=8 card_label=livegate-loop" >> "$modlist"
grep -q '^vivid\.ko' "$modlist" || die "vivid is not in the module list"
echo "modules: $(awk '{print $1}' "$modlist" | tr '\n' ' ')"
# Uncompressed: unpacking gzip inside an emulated guest costs more than it saves.
(cd "$initrd" && find . -print0 | LC_ALL=C sort -z |
    cpio --null -o -H newc --quiet > "$work/initramfs.cpio")
echo "initramfs: $(du -h "$work/initramfs.cpio" | cut -f1)"

# ---------------------------------------------------------------------------------
step "boot the guest and run the tests"
log=$out/guest.log
set +e
timeout 300 qemu-system-x86_64 -accel tcg -cpu max -m 512M -smp 1 -nographic \
    -nodefaults -serial stdio -no-reboot -kernel "$kernel" \
    -initrd "$work/initramfs.cpio" \
    -append "console=ttyS0 panic=-1 loglevel=3${filters:+ hwvm.filter=$filters}" \
    < /dev/null 2>&1 | tr -d '\r' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
set -e
result=$(grep -a '^HWVM-RESULT: ' "$log" | tail -n 1 || true)
step "result"
if [ "$result" = "HWVM-RESULT: PASS" ]; then
    echo "hw-vm: PASS (guest log: $log)"
    exit 0
fi
echo "---- last 60 lines of the guest log ($log) ----" >&2
tail -n 60 "$log" >&2
if [ "$qemu_rc" = 124 ]; then
    die "the guest did not finish within 300 s"
elif [ -z "$result" ]; then
    die "the guest printed no result line (qemu exit $qemu_rc): it did not boot or crashed"
else
    die "the guest reported ${result#HWVM-RESULT: }"
fi
