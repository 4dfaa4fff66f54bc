#!/usr/bin/env bash
# Instructions per forwarded packet, the driver's share separated from the
# models': callgrind counts everything inside forward_batch (rx_batch +
# tx_batch + freeing leftovers), then everything inside the SimulatedBar
# writes (the doorbells, where the models do their work); the driver's share
# is the difference. Usage: bench/attribute.sh ixgbe|virtio|mlx5   (needs valgrind)
# virtio runs packed rings (the model's offer); RING=split runs split rings;
# IN_ORDER=off withholds VIRTIO_F_IN_ORDER (offered by default). mlx5 runs
# ConnectX-5s (ENHANCED_MPSW sends); PROFILE=cx4lx runs ConnectX-4 Lx (SEND WQEs).
# RX_CHECKSUM=on enables receive checksum verdicts on the receiving NIC
# (Offload::kRxChecksum: ixgbe, virtio, mlx5); TX_CHECKSUM=on has every forwarded packet ask
# the sending NIC for its IPv4 and UDP checksums (Offload::kTxIpv4Checksum and
# kTxL4Checksum; on virtio the UDP one only: ixgbe, virtio); RX_RSS_HASH=on puts the
# receiving NIC's RSS hash in each packet (Offload::kRxRssHash: ixgbe, mlx5).
set -euo pipefail
cd "$(dirname "$0")/.."
./bazelw build --config=opt //bench:forward_loop >/dev/null 2>&1
# (the bazel-out symlink follows whichever configuration ran last: ask Bazel)
bin=${FORWARD_LOOP:-$(./bazelw info --config=opt bazel-bin 2>/dev/null)/bench/forward_loop}
iterations=20000
kind=${1:-ixgbe}
if [[ $kind == virtio ]]; then
  case ${RING:-packed} in
    packed) ;;
    split) kind=virtio-split ;;
    *) echo "RING=${RING}: packed or split" >&2; exit 2 ;;
  esac
  case ${IN_ORDER:-on} in
    on) ;;
    off) kind=$kind-no-in-order ;;
    *) echo "IN_ORDER=${IN_ORDER}: on or off" >&2; exit 2 ;;
  esac
  echo "virtio ring: ${RING:-packed}, IN_ORDER ${IN_ORDER:-on}"
fi
if [[ $kind == mlx5 ]]; then
  case ${PROFILE:-cx5} in
    cx5) ;;
    cx4lx) kind=mlx5-cx4lx ;;
    *) echo "PROFILE=${PROFILE}: cx5 or cx4lx" >&2; exit 2 ;;
  esac
  echo "ConnectX profile: ${PROFILE:-cx5}"
fi
count() {  # batch, toggle pattern -> instructions collected
  local out; out=$(mktemp)
  # forward_loop fails unless every frame was forwarded and reached the sink.
  if ! valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect="$2" \
    "$bin" "$kind" "$1" "$iterations" >/dev/null 2>&1; then
    echo "forward_loop $kind $1 $iterations failed: not every frame was forwarded" >&2
    exit 1
  fi
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'
  rm -f "$out"
}
# Columns, per forwarded packet: instructions inside forward_batch; of those,
# the models' (behind the doorbells); the driver's (the rest); and the
# receiving model's work when the traffic source injects (outside the loop).
printf "%-6s %14s %14s %14s %14s\n" batch forward_batch "model (TX)" driver "model (RX)"
for b in 1 8 32 64; do
  all=$(count "$b" '*forward_batch*')
  model=$(count "$b" '*SimulatedBar::write*')
  inject=$(count "$b" '*TrafficSource::inject*')
  packets=$((b * iterations))
  awk -v a="$all" -v m="$model" -v i="$inject" -v p="$packets" -v b="$b" \
    'BEGIN { printf "%-6s %14.1f %14.1f %14.1f %14.1f\n", b, a / p, m / p, (a - m) / p, i / p }'
done
