#!/bin/sh
# /init of the hw-vm guest (run by tests/hw-vm/run.sh): mounts the kernel's file
# systems, loads the modules in the order /modules.list gives ("file [params]" per
# line), sets up the stand-in devices, runs the test executable /hw_vm and ends with
# one machine-readable line, `HWVM-RESULT: PASS` or `HWVM-RESULT: FAIL <why>`, then
# powers off. Any setup failure is a FAIL, never a skip.

export PATH=/bin
result() {
    echo "HWVM-RESULT: $*"
    sync
    poweroff -f
    sleep 10
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
ip link set lo up
echo "hw-vm guest: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) cpu(s)"

while read -r file params; do
    [ -n "$file" ] || continue
    # shellcheck disable=SC2086 # the parameters are words
    if ! insmod "/lib/modules/$file" $params; then
        result "FAIL setup: insmod $file $params"
    fi
done < /modules.list
echo "hw-vm guest: $(wc -l < /modules.list) modules loaded"
mount -t configfs configfs /sys/kernel/config || result "FAIL setup: configfs"

# vivid: only a video capture node (node_types=1); find it by its name.
vivid=""
for n in /sys/class/video4linux/video*; do
    [ "$(cat "$n/name" 2>/dev/null)" = "vivid-000-vid-cap" ] && vivid="/dev/$(basename "$n")"
done
[ -n "$vivid" ] && [ -c "$vivid" ] || result "FAIL setup: no vivid capture node ($(ls /dev))"
export LIVEGATE_VM_VIVID="$vivid"

# v4l2loopback: one device (exclusive_caps: capture only while a writer streams).
loop=""
for n in /sys/class/video4linux/video*; do
    [ "$(cat "$n/name" 2>/dev/null)" = "livegate-loop" ] && loop="/dev/$(basename "$n")"
done
[ -n "$loop" ] && [ -c "$loop" ] || result "FAIL setup: no v4l2loopback node ($(cat /sys/class/video4linux/*/name))"
export LIVEGATE_VM_LOOP="$loop"

# The recording I2C adapter: bus 1, like the Pi's header pins.
[ -c /dev/i2c-1 ] || result "FAIL setup: no /dev/i2c-1 ($(ls /sys/class/i2c-adapter 2>&1))"
[ -r /sys/kernel/debug/livegate-fake-i2c/log ] || result "FAIL setup: no fake-i2c debugfs"
export LIVEGATE_VM_I2C_BUS=1
export LIVEGATE_VM_I2C_DEBUGFS=/sys/kernel/debug/livegate-fake-i2c

# gpio-sim: one bank of 8 lines, made live through configfs. Its character device and
# the sysfs directory of its lines (sim_gpioK/value to read outputs, sim_gpioK/pull
# to drive inputs) are found from the bank's chip_name and the device's dev_name.
sim=/sys/kernel/config/gpio-sim/livegate
mkdir "$sim" && mkdir "$sim/gpio-bank0" || result "FAIL setup: gpio-sim configfs ($(ls /sys/kernel/config))"
echo livegate-sim > "$sim/gpio-bank0/label"
echo 8 > "$sim/gpio-bank0/num_lines" || result "FAIL setup: gpio-sim num_lines"
for l in 0 1 2; do
    mkdir "$sim/gpio-bank0/line$l"
done
echo RELAY_GATE > "$sim/gpio-bank0/line0/name"
echo RELAY_FAIL > "$sim/gpio-bank0/line1/name"
echo TRIGGER > "$sim/gpio-bank0/line2/name"
echo 1 > "$sim/live" || result "FAIL setup: gpio-sim live"
chip=$(cat "$sim/gpio-bank0/chip_name")
simdir=/sys/devices/platform/$(cat "$sim/dev_name")/$chip
[ -c "/dev/$chip" ] || result "FAIL setup: no /dev/$chip for gpio-sim ($(ls /dev))"
[ -r "$simdir/sim_gpio0/value" ] || result "FAIL setup: no $simdir/sim_gpio0/value"
export LIVEGATE_VM_GPIOCHIP="/dev/$chip"
export LIVEGATE_VM_GPIOSIM="$simdir"

[ -x /livegate ] || result "FAIL setup: no /livegate executable"
export LIVEGATE_VM_LIVEGATE=/livegate
mkdir -p /run
export HOME=/tmp TMPDIR=/tmp RUST_BACKTRACE=1
echo "hw-vm guest: running the tests (vivid at $vivid, loopback at $loop, fake I2C on bus 1, gpio-sim at /dev/$chip)"
# run.sh NAME... passes `hwvm.filter=NAME,NAME` on the kernel command line: only
# those tests run (and the result line says so).
filters=""
for word in $(cat /proc/cmdline); do
    case $word in hwvm.filter=*) filters=$(echo "${word#hwvm.filter=}" | tr , ' ') ;; esac
done
# shellcheck disable=SC2086 # the filters are words
/hw_vm --ignored --test-threads=1 --nocapture $filters
rc=$?
[ -z "$filters" ] || echo "hw-vm guest: only the tests matching: $filters"
if [ "$rc" = 0 ]; then
    result "PASS"
else
    result "FAIL rc=$rc"
fi
