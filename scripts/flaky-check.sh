#!/usr/bin/env bash
# Runs the whole test suite again and again while stress-ng keeps every core busy,
# the way to check that no test depends on the machine's speed.
# Usage: scripts/flaky-check.sh [RUNS]   (default 20; stops nothing at a failure:
# every run's output is kept in target/flaky/RUN.log)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}

scripts/setup.sh
scripts/apt-need.sh stress-ng
# Built once, before the load: what is checked is the tests, not the compiler.
cargo test --no-run -q
mkdir -p target/flaky

stress-ng --cpu "$(nproc)" --timeout 0 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null || true' EXIT

failed=0
for i in $(seq 1 "$runs"); do
  start=$(date +%s)
  if cargo test -q > "target/flaky/$i.log" 2>&1; then
    echo "run $i/$runs: ok ($(( $(date +%s) - start )) s)"
  else
    failed=$((failed + 1))
    echo "run $i/$runs: FAILED ($(( $(date +%s) - start )) s), see target/flaky/$i.log"
    grep -E '^---- |panicked at' "target/flaky/$i.log" | head -10 || true
  fi
done
echo "flaky-check: $((runs - failed)) of $runs runs of cargo test passed under stress-ng --cpu $(nproc)"
[ "$failed" -eq 0 ]
