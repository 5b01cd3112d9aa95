#!/usr/bin/env bash
# Checks systemd/livegate.service the way systemd will read it:
#   1. systemd-analyze verify: any message at all (an unknown key, a bad value, a
#      missing binary) fails the check, since verify itself exits 0 on warnings;
#   2. the command line of ExecStart= is one the binary accepts;
#   3. systemd-analyze security --offline: prints the exposure score and fails when
#      it is above LIVEGATE_MAX_EXPOSURE (default 2.0; systemd calls < 2.0 "OK").
# Usage: scripts/check-unit.sh [path/to/livegate]   (default: target/debug/livegate)
# verify checks that ExecStart's binary exists, so it runs on a copy of the unit whose
# ExecStart points at the given binary instead of /usr/bin/livegate.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=systemd/livegate.service
bin=${1:-target/debug/livegate}
max=${LIVEGATE_MAX_EXPOSURE:-2.0}

if ! command -v systemd-analyze >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "check-unit: installing systemd (for systemd-analyze)" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends systemd >/dev/null
fi
version=$(systemd-analyze --version | awk 'NR==1 {print $2}')
if [ "${version:-0}" -lt 252 ]; then
  echo "check-unit: systemd $version is too old: security --offline needs 252" >&2
  exit 1
fi

[ -x "$bin" ] || { echo "check-unit: no executable at $bin (cargo build first)" >&2; exit 1; }
bin=$(readlink -f "$bin")

grep -q '^ExecStart=/usr/bin/livegate ' "$unit" || {
  echo "check-unit: $unit: ExecStart is not the packaged /usr/bin/livegate command" >&2
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Same file name: verify derives the unit's name (and type) from it.
sed -e "s#^ExecStart=/usr/bin/livegate #ExecStart=$bin #" -e "s#^ExecStopPost=/usr/bin/livegate #ExecStopPost=$bin #" "$unit" > "$tmp/livegate.service"

status=0
echo "== systemd-analyze verify $unit (systemd $version)"
verify_out=$(systemd-analyze verify --man=no "$tmp/livegate.service" 2>&1) || status=1
if [ -n "$verify_out" ]; then
  printf '%s\n' "$verify_out" | sed "s#$tmp/#systemd/#"
  status=1
fi
[ "$status" -eq 0 ] && echo "verify: no findings"

# The arguments of ExecStart must parse: `run --config FILE --help` only prints help
# when clap accepts the rest of the line.
args=$(sed -n 's#^ExecStart=/usr/bin/livegate ##p' "$unit")
# shellcheck disable=SC2086 # the unit's arguments are split on spaces, as systemd does
if ! "$bin" $args --help >/dev/null 2>&1; then
  echo "check-unit: the binary refuses ExecStart's arguments: $args" >&2
  status=1
fi

echo "== systemd-analyze security --offline=true $unit"
threshold=$(awk -v m="$max" 'BEGIN { printf "%d", m * 10 + 0.5 }')
security_status=0
security_out=$(systemd-analyze security --offline=true --threshold="$threshold" \
  "$tmp/livegate.service" 2>&1) || security_status=$?
# The findings that cost something (the ✗ lines), then the overall score.
printf '%s\n' "$security_out" | grep '✗' || true
score_line=$(printf '%s\n' "$security_out" | grep 'Overall exposure level' || true)
if [ -z "$score_line" ]; then
  printf '%s\n' "$security_out" >&2
  echo "check-unit: no exposure score in systemd-analyze's output" >&2
  exit 1
fi
echo "$score_line"
if [ "$security_status" -ne 0 ]; then
  echo "check-unit: exposure above the threshold $max" >&2
  status=1
fi

[ "$status" -eq 0 ] && echo "check-unit: $unit passed (threshold $max)"
exit "$status"
