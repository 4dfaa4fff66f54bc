#!/usr/bin/env bash
# DPDK 22.11's testpmd, unchanged, under run_with_simulated_nics: its
# net_ixgbe PMD finds two simulated 82599s in the launcher's sysfs tree, opens
# them through the emulated VFIO (DMA at its own virtual addresses, BARs
# trapped), passes its EEPROM checksum, semaphore and firmware-version checks
# on the model, configures and starts both ports, reports their MAC addresses
# and closes them. (Not yet: a clean run. The model still reports the
# registers DPDK touches that it does not declare; docs/simulated-nics.md
# keeps the list of what is left.)
set -euo pipefail
launcher=$1
out=$TEST_TMPDIR/out
export TMPDIR=$TEST_TMPDIR/tmp
mkdir -p "$TMPDIR"
fail() { echo "FAIL: $*"; echo "--- output (end):"; tail -40 "$out"; exit 1; }
command -v dpdk-testpmd >/dev/null || fail "dpdk-testpmd is missing (./bazelw installs dpdk)"

set +e
printf 'show port info all\nquit\n' |
  "$launcher" --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599 --cable 0,1 -- \
    dpdk-testpmd --no-huge -m 256 --iova-mode=va --no-shconf --file-prefix="safenic-sim-$$" \
      -a 0000:00:04.0 -a 0000:00:05.0 -- -i --total-num-mbufs=2048 >"$out" 2>&1
code=$?
set -e
# 0: clean; 3: testpmd succeeded and the models reported violations.
[[ $code -eq 0 || $code -eq 3 ]] || fail "exit status $code"
grep -q "Infos for port 0" "$out" || fail "port 0 was not probed"
grep -q "Infos for port 1" "$out" || fail "port 1 was not probed"
grep -q "MAC address: 02:00:00:00:82:01" "$out" || fail "port 0's MAC is not the model's"
grep -q "MAC address: 02:00:00:00:82:02" "$out" || fail "port 1's MAC is not the model's"
grep -q "Port 1 is closed" "$out" || fail "testpmd did not close its ports"
traps=$(sed -n 's/^trapped_accesses \([0-9]*\)$/\1/p' "$out")
[[ ${traps:-0} -gt 1000 ]] || fail "only ${traps:-no} trapped register accesses"
violations=$(sed -n 's/^run_with_simulated_nics: violations \([0-9]*\)$/\1/p' "$out")
echo "testpmd probed, started and closed both ports: $traps register accesses, $violations reports"
[[ $(ls "$TMPDIR") == "" ]] || fail "left in TMPDIR: $(ls "$TMPDIR")"
echo PASS
