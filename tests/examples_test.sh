#!/usr/bin/env bash
# The examples run end to end on simulated NICs, stop at their run length, and
# fail clearly on a bad device spec.
set -uo pipefail
fwd="$1" pktgen="$2" hello="$3"
failed=0 passed=0
check() {  # name, command output, expected pattern
  if grep -qE -- "$3" <<<"$2"; then passed=$((passed + 1)); else
    echo "FAIL: $1: no match for /$3/ in:"; echo "$2"; failed=$((failed + 1)); fi
}

out=$("$fwd" --packets=200000 --seconds=60 2>&1); rc=$?
check "fwd exits 0" "rc=$rc" "rc=0"
check "fwd forwards" "$out" "fwd: forwarded [0-9]{6,} packets"
check "fwd links" "$out" "sim:82599#1 \(ixgbe\) MAC 02:00:00:00:82:02, link up at 10000"
check "fwd counts add up" "$out" "port 0: received ([0-9]+), sent \1, RX drops 0"

out=$("$pktgen" --packets=100000 --seconds=60 --batch=8 2>&1); rc=$?
check "pktgen exits 0" "rc=$rc" "rc=0"
check "pktgen sends and the wire delivers all" "$out" "sent ([0-9]+) packets.*" 
sent=$(sed -nE 's/^pktgen: sent ([0-9]+) packets/\1/p' <<<"$out")
delivered=$(sed -nE 's/^pktgen: the simulated wire delivered ([0-9]+)/\1/p' <<<"$out")
check "pktgen delivered = sent" "sent=$sent delivered=$delivered" "sent=([0-9]{6,}) delivered=\1$"

out=$("$fwd" --dev0=nonsense --dev1=sim:82599 2>&1); rc=$?
check "fwd rejects a bad spec" "rc=$rc $out" "rc=1 fwd: port 0: 'nonsense' is not a device spec"
out=$("$pktgen" --dev=sim:nothing 2>&1); rc=$?
check "pktgen names unknown models" "rc=$rc $out" "rc=1 .*no simulated NIC model 'nothing'"
out=$("$pktgen" --dev=0000:42:00.0 2>&1); rc=$?
check "pktgen without PCI support says so" "rc=$rc $out" "rc=1 .*PCI devices"

out=$("$hello" 2>&1); rc=$?
check "hello round-trips a frame" "rc=$rc $out" 'rc=0 hello: sim:82599 received 60 bytes: "hello"'

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
