#!/usr/bin/env bash
# Instructions per forwarded packet, the driver's share separated from the
# models': callgrind counts everything inside forward_batch (rx_batch +
# tx_batch + freeing leftovers), then everything inside SimulatedBar::write32
# (the doorbells, where the models do their work); the driver's share is the
# difference. Usage: bench/attribute_ixgbe.sh   (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
./bazelw build --config=opt //bench:forward_loop >/dev/null 2>&1
bin=bazel-out/k8-opt/bin/bench/forward_loop
iterations=20000
count() {  # batch, toggle pattern -> instructions collected
  local out; out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$2" \
    "$bin" "$1" "$iterations" >/dev/null 2>&1
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
printf "%-6s %18s %18s %18s\n" batch "all instr/pkt" "model instr/pkt" "driver instr/pkt"
for b in 1 8 32 64; do
  all=$(count "$b" '*forward_batch*')
  model=$(count "$b" '*SimulatedBar::write32*')
  packets=$((b * iterations))
  awk -v a="$all" -v m="$model" -v p="$packets" -v b="$b" \
    'BEGIN { printf "%-6s %18.1f %18.1f %18.1f\n", b, a / p, m / p, (a - m) / p }'
done
