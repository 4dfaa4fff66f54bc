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
check_all() {  # the same, with the output's lines joined (a pattern across lines)
  check "$1" "$(tr '\n' ' ' <<<"$2")" "$3"
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

# Every simulated kind gets a traffic source; mixed pairs work; names and
# MACs are the NICs' own; aliases are accepted.
out=$("$fwd" --dev0=sim:virtio --dev1=sim:cx5 --seconds=0.5 2>&1); rc=$?
check "fwd virtio-cx5 exits 0" "rc=$rc" "rc=0"
check "fwd virtio-cx5 forwards" "$out" "fwd: forwarded [0-9]{4,} packets"
check "fwd virtio-cx5 sources balance" "$out" "sources: ([0-9]+) of \1 frames from source 0 reached source 1"
check "fwd virtio port" "$out" "fwd: sim:virtio#0 \(virtio\) MAC 02:00:00:00:1a:01"
check "fwd cx5 port" "$out" "fwd: sim:cx5#1 \(mlx5\) MAC 02:00:00:00:c5:02"
out=$("$fwd" --dev0=sim:connectx-4-lx --dev1=sim:virtio-legacy --seconds=0.5 2>&1); rc=$?
check_all "fwd takes aliases and legacy virtio" "rc=$rc $out" "rc=0 .*fwd: forwarded [0-9]{4,} packets"
out=$("$fwd" --dev0=sim:82599 --dev1=sim:82599 --seconds=0.5 2>&1); rc=$?
check_all "fwd two 82599s by spec" "rc=$rc $out" "rc=0 .*MAC 02:00:00:00:82:01.*MAC 02:00:00:00:82:02"
# Jumbo frames (issue #22): 9014-byte frames both ways through each driver pair.
for pair in "82599 cx5" "virtio cx4lx" "virtio-split virtio-legacy"; do
  set -- $pair
  out=$("$fwd" --dev0=sim:$1 --dev1=sim:$2 --mtu=9000 --frame_size=9014 --seconds=0.3 2>&1); rc=$?
  check_all "fwd 9014-byte frames, $1 and $2" "rc=$rc $out" \
    "rc=0 .*a traffic source of 9014-byte frames.*port 0: received ([0-9]+), sent \1, RX drops 0.*sources: ([0-9]{3,}) of \2 frames from source 0 reached source 1"
done
out=$("$fwd" --mtu=9000 --frame_size=9015 2>&1); rc=$?
check_all "fwd refuses frames over the MTU" "rc=$rc $out" "rc=2 fwd: --frame_size=9015; use 60 to 9014"
out=$("$fwd" --mtu=9001 --seconds=0.2 2>&1); rc=$?
check_all "fwd passes the driver's MTU error on" "rc=$rc $out" "rc=1 fwd: port 0: ixgbe: MTU 9001; use 68 to 9000"
out=$("$fwd" --help 2>&1)
check "fwd --help lists the simulated kinds" "$out" "sim:cx5 +NVIDIA ConnectX-5 .*sim:connectx-5"
out=$("$fwd" --dev0=sim:nothing 2>&1); rc=$?
check_all "fwd names the kinds for an unknown one" "rc=$rc $out" "rc=1 fwd: port 0: no simulated NIC 'sim:nothing'; the kinds:.*sim:virtio-legacy"
# Sources attached and nothing forwarded (every frame oversize): an error.
big=$(mktemp -d)/big.pcap
"$pktgen" --mtu=2000 --size=2000 --packets=64 --capture="$big" >/dev/null 2>&1
out=$("$fwd" --pcap="$big" --seconds=0.3 2>&1); rc=$?
check_all "fwd forwarding nothing is an error" "rc=$rc $out" "rc=1 .*nothing was forwarded"

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
