#!/usr/bin/env bash
# bench/virtio_dpdk_bench.sh reads two lines of bench/vhost_user_traffic's
# output; this runs the program for a second each way against DPDK's testpmd
# (the same back-end the script uses, on plain pages as tests/vhost_user's
# tests start it; --stats-period keeps it from reading stdin, where an EOF
# would stop it) and checks that frames moved and that both lines are there.
set -euo pipefail
bin=$1
command -v dpdk-testpmd >/dev/null || { echo "dpdk-testpmd missing: ./bazelw installs dpdk-dev" >&2; exit 1; }
work=$(mktemp -d /tmp/safenic-traffic-test-XXXXXX)
trap 'jobs -p | xargs -r kill -INT 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
for dir in tx rx; do
  mode=rxonly
  [[ $dir == rx ]] && mode=txonly
  sock=$work/$dir.sock
  timeout -s INT 30 dpdk-testpmd --lcores '0@0,1@0' -n 4 --no-pci --no-huge --no-shconf -m 256 \
    --file-prefix="safenic-traffic-test-$$-$dir" --vdev "net_vhost0,iface=$sock,queues=1" -- \
    --forward-mode=$mode --stats-period 1 --nb-cores=1 --burst=32 --txpkts=64 --total-num-mbufs=8192 \
    --auto-start </dev/null >"$work/$dir.backend.log" 2>&1 &
  backend=$!
  for _ in $(seq 200); do [[ -S $sock ]] && break; sleep 0.05; done
  out=$("$bin" --socket="$sock" --mode=$dir --ring=packed --seconds=1 2>&1) ||
    { echo "FAIL: $dir: $out" >&2; tail -20 "$work/$dir.backend.log" >&2; exit 1; }
  kill -INT $backend; wait $backend || true
  echo "$out" | grep -E "^safenic $dir packed: [1-9][0-9]* packets" >/dev/null ||
    { echo "FAIL: $dir: no frames moved: $out" >&2; exit 1; }
  echo "$out" | grep -E "^CPU cycles/packet=[0-9]+\.[0-9]+ at [0-9]+ MHz Clock$" >/dev/null ||
    { echo "FAIL: $dir: no cycles line: $out" >&2; exit 1; }
done
echo PASS
