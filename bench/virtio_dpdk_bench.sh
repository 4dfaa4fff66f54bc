#!/usr/bin/env bash
# Mpps of safenic's virtio driver against DPDK's own virtio-user PMD, both as
# vhost-user front-ends of the same back-end: DPDK's testpmd with net_vhost.
#
#   bench/virtio_dpdk_bench.sh [RUNS=3] [SECONDS=10] [--small-pages]
#   DIRS=rx RINGS=packed bench/virtio_dpdk_bench.sh    # one configuration
#
# TX: the front-end sends 64-byte frames, bursts of 32; the back-end counts
#     them (--forward-mode=rxonly). RX: the back-end generates 64-byte frames
#     (txonly) into the front-end's receive ring, the front-end takes them.
# The same work on both front-ends: DPDK's is testpmd in txonly or rxonly
#     mode; safenic's (bench/vhost_user_traffic) runs the same loop: TX a
#     burst of fresh packets, Ethernet/IPv4/UDP headers copied into each,
#     sent, the unsent ones freed; RX a burst received and freed.
# Rings: split, and packed (DPDK: packed_vq=1; safenic uses packed when the
#     back-end offers it, and split when told to withhold it).
# Pinning: the back-end's two lcores on CPU 0, the front-end on CPU 1.
# Two measures:
#   Mpps: the back-end's own per-second port rate (Rx-pps for TX, Tx-pps for
#     RX: frames that made it into the front-end's ring), the same counter for
#     both front-ends; per run the median of the full seconds. This is the
#     rate of the slower side: when the back-end is the limit (it is on RX:
#     the front-ends find most polls empty), it says little about the
#     front-end.
#   Cycles per packet: each front-end's own CPU cost, as testpmd's
#     --record-core-cycles counts it for DPDK's (TSC cycles spent in the
#     forwarding loop, TX every iteration, RX the iterations that received a
#     frame, divided by the frames) and bench/vhost_user_traffic counts it
#     for safenic's, the same way. Its ratio (DPDK's cycles / safenic's) is
#     how many times as many frames safenic's front-end handles per second of
#     CPU, whoever limits the rate.
#   Per measure the median over runs, and for cycles also the best run (the
#     fewest cycles): on a VM the two vCPUs' placement on the host changes
#     from run to run, and with it what a cache line shared between them costs
#     to move (on 2026-12-07 each front-end's cycles per frame fell into two
#     groups about 3x apart); both front-ends get both placements over enough
#     runs, and their best runs compare them in the good one. Front-ends
#     alternate A B A B ... (rates drift on shared VMs). Each run waits for an idle second first and
#     reports the share of the CPUs that other processes took during it: on
#     a busy machine the numbers mean little (both sides are pinned
#     busy-pollers).
# Takes about RUNS x 8 x (SECONDS + 5) s. Logs: $LOGS (/tmp/safenic-bench-logs).
# Memory: everything on 2 MiB hugepages, as DPDK needs (-m 512 each for the
#     back-end and DPDK's front-end, as in docs/dpdk-peer.md; safenic's 256
#     MiB arena); --small-pages puts safenic's on 4 KiB pages (in one pair of
#     packed-ring receive runs: 105 cycles per frame against 72). Needs root for
#     hugepages; reserves 700 and restores the old count at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=3
SECS=10
HUGE=(--hugepages)
args=()
for a in "$@"; do
  if [[ $a == --small-pages ]]; then HUGE=(); else args+=("$a"); fi
done
[[ ${#args[@]} -ge 1 ]] && RUNS=${args[0]}
[[ ${#args[@]} -ge 2 ]] && SECS=${args[1]}

command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing: ./bazelw installs dpdk-dev" >&2; exit 1; }
./bazelw build --config=opt //bench:vhost_user_traffic >&2
BIN="$(./bazelw info --config=opt bazel-bin 2>/dev/null)/bench/vhost_user_traffic"

old_huge=$(cat /proc/sys/vm/nr_hugepages)
WORK=$(mktemp -d /tmp/safenic-bench-XXXXXX)
SOCK=$WORK/vhost.sock
LOGS=${LOGS:-/tmp/safenic-bench-logs}  # every run's back-end and front-end log
mkdir -p "$LOGS"
cleanup() {
  jobs -p | xargs -r kill -INT 2>/dev/null || true
  wait 2>/dev/null || true
  echo "$old_huge" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  rm -rf "$WORK" /var/run/dpdk/safenic-bench-vhost /var/run/dpdk/safenic-bench-virtio
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if (( old_huge < 700 )); then
  echo 700 > /proc/sys/vm/nr_hugepages || { echo "cannot reserve hugepages (root?)" >&2; exit 1; }
fi

# median of numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# CPU ticks (USER_HZ) spent by all processes, from /proc/stat: busy and idle.
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
# Waits (up to 20 s) for a second in which the machine is at least 90% idle:
# other processes (builds) take CPU time from the pinned front-end and back-end.
wait_quiet() {
  for _ in $(seq 20); do
    read -r b0 i0 < <(cpu_ticks); sleep 1; read -r b1 i1 < <(cpu_ticks)
    (( (i1 - i0) * 10 >= 9 * (b1 - b0 + i1 - i0) )) && return 0
  done
  echo "  (machine still busy after 20 s; measuring anyway)" >&2
}

# One run: $1 = tx|rx, $2 = split|packed, $3 = safenic|dpdk. Prints "Mpps
# cycles others%": cycles is the front-end's own CPU cycles per frame; others%
# is the share of the two CPUs that other processes used during the run (0 on
# a quiet machine).
run_once() {
  local dir=$1 ring=$2 who=$3
  local mode=rxonly column=Rx-pps
  [[ $dir == rx ]] && mode=txonly column=Tx-pps
  rm -f "$SOCK"
  taskset -c 0 timeout -s INT $((SECS + 20)) dpdk-testpmd --lcores '0@0,1@0' -n 4 --no-pci \
    --in-memory --file-prefix=safenic-bench-vhost -m 512 \
    --vdev "net_vhost0,iface=$SOCK,queues=1" -- --forward-mode=$mode --stats-period 1 \
    --nb-cores=1 --burst=32 --txpkts=64 --total-num-mbufs=32768 --txd=1024 --rxd=1024 \
    --auto-start </dev/null >"$WORK/backend.log" 2>&1 &
  local backend=$!
  for _ in $(seq 200); do [[ -S $SOCK ]] && break; sleep 0.05; done
  local pmd
  pmd=$(pgrep -P "$backend" | head -1)
  local pmd0 pmd1 busy0 busy1 idle0 idle1 t0 t1
  pmd0=$(awk '{print $14 + $15}' "/proc/$pmd/stat")
  read -r busy0 idle0 < <(cpu_ticks)
  t0=$(date +%s.%N)
  local TIMEFORMAT='%U %S'
  if [[ $who == safenic ]]; then
    { time taskset -c 1 "$BIN" --socket="$SOCK" --mode="$dir" --ring="$ring" --seconds="$SECS" \
      "${HUGE[@]}" >"$WORK/frontend.log" 2>&1 || cat "$WORK/frontend.log" >&2; } 2>"$WORK/time"
  else
    local devargs="net_virtio_user0,path=$SOCK,queues=1"
    [[ $ring == packed ]] && devargs+=",packed_vq=1"
    local fmode=txonly
    [[ $dir == rx ]] && fmode=rxonly
    { time taskset -c 1 timeout -s INT "$SECS" dpdk-testpmd --lcores '0@1,1@1' -n 4 --no-pci \
      --in-memory --single-file-segments --file-prefix=safenic-bench-virtio -m 512 \
      --vdev "$devargs" -- --forward-mode=$fmode --stats-period 1 --nb-cores=1 --burst=32 \
      --txpkts=64 --total-num-mbufs=32768 --txd=1024 --rxd=1024 --auto-start \
      --record-core-cycles </dev/null >"$WORK/frontend.log" 2>&1 || true; } 2>"$WORK/time"
  fi
  t1=$(date +%s.%N)
  read -r busy1 idle1 < <(cpu_ticks)
  pmd1=$(awk '{print $14 + $15}' "/proc/$pmd/stat" 2>/dev/null || echo "$pmd0")
  local others
  others=$(awk -v b="$((busy1 - busy0))" -v p="$((pmd1 - pmd0))" -v t0="$t0" -v t1="$t1" \
    -v hz="$(getconf CLK_TCK)" -v n="$(nproc)" '{f = $1 + $2}
    END {o = (b - p) / hz - f; if (o < 0) o = 0; printf "%d", 100 * o / (n * (t1 - t0))}' "$WORK/time")
  kill -INT $backend 2>/dev/null || true
  wait $backend 2>/dev/null || true
  local n=0
  while [[ -e $LOGS/$dir-$ring-$who-$n.backend.log ]]; do n=$((n + 1)); done
  cp "$WORK/backend.log" "$LOGS/$dir-$ring-$who-$n.backend.log"
  cp "$WORK/frontend.log" "$LOGS/$dir-$ring-$who-$n.frontend.log"
  # Per-second rates while traffic flowed; the first and last are partial.
  local mpps
  mpps=$(grep "$column:" "$WORK/backend.log" | awk '{print $2}' | awk '$1 > 0' | sed '1d;$d' |
    median | awk '{printf "%.2f", $1 / 1e6}')
  local cycles
  cycles=$(grep -o 'CPU cycles/packet=[0-9.]*' "$WORK/frontend.log" | tail -1 | cut -d= -f2)
  echo "$mpps ${cycles:-0} $others"
}

echo "# $(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) CPUs;" \
     "DPDK $(dpkg-query -W -f='${Version}' dpdk-dev 2>/dev/null); ${RUNS} runs x ${SECS} s," \
     "64 B, burst 32; safenic memory: ${HUGE[*]:-4 KiB pages}"
printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" direction ring "safenic Mpps" \
  "DPDK Mpps" ratio "safenic cycles/frame" "DPDK cycles/frame" "ratio (median)" "ratio (best)"
printf "|---|---|---|---|---|---|---|---|---|\n"
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {if (y > 0) printf "%.2f", x / y; else print "-"}'; }
best() { sort -n | awk '$1 > 0' | head -1; }
for dir in ${DIRS:-tx rx}; do
  for ring in ${RINGS:-split packed}; do
    a=() b=() ca=() cb=()
    for ((r = 0; r < RUNS; r++)); do
      wait_quiet
      read -r x cx ox < <(run_once "$dir" "$ring" safenic)
      wait_quiet
      read -r y cy oy < <(run_once "$dir" "$ring" dpdk)
      a+=("$x") b+=("$y") ca+=("$cx") cb+=("$cy")
      echo "  $dir $ring run $((r + 1)): safenic $x Mpps $cx cycles (others used ${ox}% CPU)," \
           "DPDK $y Mpps $cy cycles (others ${oy}%)" >&2
    done
    ma=$(printf "%s\n" "${a[@]}" | median)
    mb=$(printf "%s\n" "${b[@]}" | median)
    mca=$(printf "%s\n" "${ca[@]}" | median)
    mcb=$(printf "%s\n" "${cb[@]}" | median)
    bca=$(printf "%s\n" "${ca[@]}" | best)
    bcb=$(printf "%s\n" "${cb[@]}" | best)
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$dir" "$ring" \
      "$ma (${a[*]})" "$mb (${b[*]})" "$(ratio "$ma" "$mb")" \
      "$mca (${ca[*]})" "$mcb (${cb[*]})" "$(ratio "$mcb" "$mca")" "$(ratio "$bcb" "$bca")"
  done
done
