#!/usr/bin/env bash
# The step benchmark beside the Python peer, in one run (docs/PERFORMANCE.md):
#   1. benches/step.rs: livegate's real path (replayed frame → JPEG → body → HTTPS POST
#      to the stand-in → parsed answer) for MJPEG and YUYV 640x480, then the Python
#      peer (benches/peer/peer.py: OpenCV imencode q80 + base64 + requests keep-alive)
#      against the same stand-in and frames; CPU, context switches, bytes, peak RSS,
#      ratios.
#   2. With --callgrind (and valgrind installed): instructions per step of each side,
#      as the difference of two runs of different length (startup cancels out).
#   3. Idle: `livegate run` with a replay camera streaming YUYV 640x480 at 30 fps and
#      no session, CPU % of one core and peak RSS over IDLE_SECS (default 60). With
#      --idle-trigger camera the camera is the trigger: the presence watch looks at the
#      streaming scene (nobody in it) between sessions, as a kiosk waits.
# Usage: scripts/bench-step.sh [--steps N] [--callgrind] [--no-idle] [--idle-only]
#                              [--idle-trigger socket|camera]
# A benchmark only: it never fails on a figure.
set -euo pipefail
cd "$(dirname "$0")/.."

steps=300
callgrind=0
idle=1
steps_run=1
idle_trigger=socket
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift ;;
    --callgrind) callgrind=1 ;;
    --no-idle) idle=0 ;;
    --idle-only) steps_run=0; callgrind=0 ;;
    --idle-trigger) idle_trigger=$2; shift ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q opencv-python-headless numpy requests
py=$venv/bin/python

if [ "$steps_run" = 1 ]; then
  echo "== step benchmark: $steps steps per side, 640x480, q80"
  cargo bench --bench step -- --steps "$steps" --peer "$py"
fi

if [ "$callgrind" = 1 ] && command -v valgrind >/dev/null; then
  echo "== instructions per step (callgrind, (Ir(n2) - Ir(n1)) / (n2 - n1))"
  bench=$(cargo bench --bench step --no-run --message-format=json 2>/dev/null \
    | grep '"kind":\["bench"\]' | grep '"name":"step"' \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
  [ -x "$bench" ] || { echo "bench-step: no step bench executable in cargo's output" >&2; exit 1; }
  out=target/bench-step/callgrind
  mkdir -p "$out"
  # One stand-in for all the runs, outside valgrind.
  coproc SERVE { "$bench" serve; }
  read -r line <&"${SERVE[0]}"
  url=${line#URL }
  ir() { # ir NAME FILE: total instructions of a callgrind output
    callgrind_annotate "$2" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,
  }
  n1=10; n2=60
  for side in livegate-mjpeg-current livegate-yuyv-current livegate-mjpeg-multi livegate-yuyv-multi; do
    for n in $n1 $n2; do
      valgrind --tool=callgrind --callgrind-out-file="$out/$side.$n" \
        "$bench" --url "$url" --only "$side" --steps "$n" >/dev/null 2>&1
    done
    a=$(ir "$side" "$out/$side.$n1"); b=$(ir "$side" "$out/$side.$n2")
    echo "$side: $(( (b - a) / (n2 - n1) )) instructions/step"
  done
  for kind in mjpeg yuyv; do
    for n in $n1 $n2; do
      valgrind --tool=callgrind --callgrind-out-file="$out/peer-$kind.$n" \
        "$py" benches/peer/peer.py --url "$url" --key bench-step-key \
        --ca target/bench-step/standin-ca.pem --frames "target/bench-step/$kind" \
        --steps "$n" --warmup 0 >/dev/null 2>&1
    done
    a=$(ir peer "$out/peer-$kind.$n1"); b=$(ir peer "$out/peer-$kind.$n2")
    echo "peer-$kind: $(( (b - a) / (n2 - n1) )) instructions/step"
  done
  exec {SERVE[1]}>&-
  wait "$SERVE_PID" || true
fi

if [ "$idle" = 1 ]; then
  if [ ! -d target/bench-step/yuyv ]; then
    # The frames: written by the bench's stand-in process; no step is run.
    cargo bench --bench step -- --only none >/dev/null
  fi
  secs=${IDLE_SECS:-60}
  echo "== idle: livegate run, replay camera YUYV 640x480 at 30 fps, no session, [trigger] $idle_trigger, ${secs}s"
  cargo build --release -q --bin livegate
  d=$PWD/target/bench-step/idle
  mkdir -p "$d"
  frames=$PWD/target/bench-step/yuyv
  if [ "$idle_trigger" = camera ]; then
    # Nobody at the kiosk: one still picture of the empty scene's first frame (the
    # four frames in turn would be a scene that changes 30 times a second).
    frames=$d/still
    mkdir -p "$frames"
    cp target/bench-step/yuyv/0000.yuyv "$frames/"
  fi
  printf 'bench-key-not-used\n' > "$d/key"
  chmod 600 "$d/key"
  cat > "$d/livegate.toml" <<TOML
[api]
base_url = "https://127.0.0.1:9/aiface/liveness-detection/v1"
key_file = "$d/key"
[camera]
kind = "replay"
path = "$frames"
width = 640
height = 480
fps = 30
[display]
kind = "sim"
terminal = false
[gpio]
kind = "sim"
$(case $idle_trigger in
    camera) printf '[trigger]\nkind = "camera"\n' ;;
    *) printf '[trigger]\nkind = "socket"\npath = "%s/ctl.sock"\ngroup = "root"\n' "$d" ;;
  esac)
[log]
level = "warn"
TOML
  target/release/livegate check-config --config "$d/livegate.toml"
  target/release/livegate run --config "$d/livegate.toml" > "$d/run.log" 2>&1 &
  pid=$!
  sleep 5 # start-up and the first frames, not counted
  tck=$(getconf CLK_TCK)
  cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  # Context switches of all the daemon's threads, voluntary and not.
  csw() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
  threads() { ls /proc/"$pid"/task | wc -l; }
  c0=$(cpu); w0=$(csw); t0=$(date +%s.%N)
  sleep "$secs"
  c1=$(cpu); w1=$(csw); t1=$(date +%s.%N); nt=$(threads)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v tck="$tck" -v hwm="$hwm" -v rss="$rss" \
    -v w0="$w0" -v w1="$w1" -v nt="$nt" \
    'BEGIN { printf "idle: %.3f%% of one core over %.0f s; RSS %d KB, peak %d KB; %.1f context switches/s (%d threads)\n", 100 * (c1 - c0) / tck / (t1 - t0), t1 - t0, rss, hwm, (w1 - w0) / (t1 - t0), nt }'
fi
