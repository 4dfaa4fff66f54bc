#!/usr/bin/env bash
# run_with_simulated_nics --tap: a simulated NIC cabled to a TAP interface,
# in a network namespace of the test's own. The kernel's ARP requests for
# 10.99.0.2 go out of the TAP into NIC 0; safenic's fwd (built for real PCI
# devices) forwards them to NIC 1, whose port is captured (--capture) behind
# its loopback plug; they come back through fwd and NIC 0 to the kernel. The
# launcher's summary counts the frames each way; tshark finds the ARP
# requests in the capture. The namespace is deleted at exit.
set -uo pipefail
launcher=$1 fwd=$2
out=$TEST_TMPDIR/out
export TMPDIR=$TEST_TMPDIR/tmp
mkdir -p "$TMPDIR"
ns=safenic-launcher-$$
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$out"; exit 1; }
skip() { echo "SKIPPED: $*"; exit 0; }
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and /dev/net/tun (CI runs as root)"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is not there (modprobe tun)"
command -v tshark >/dev/null || fail "tshark is missing; ./bazelw installs it"
ip netns add "$ns" 2>"$TEST_TMPDIR/netns.err" || skip "cannot create a network namespace: $(cat "$TEST_TMPDIR/netns.err")"
trap 'ip netns del "$ns" 2>/dev/null' EXIT

ip netns exec "$ns" "$launcher" --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599 \
    --tap 0=safenic0 --capture 1="$TEST_TMPDIR/out.pcap" -- \
  "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --no_huge --seconds=4 >"$out" 2>&1 &
pid=$!
for ((i = 0; i < 100; ++i)); do ip netns exec "$ns" ip link show safenic0 >/dev/null 2>&1 && break; sleep 0.1; done
ip netns exec "$ns" ip addr add 10.99.0.1/24 dev safenic0 || fail "no TAP interface safenic0"
ip netns exec "$ns" ip link set safenic0 up
ip netns exec "$ns" ping -c 2 -W 1 10.99.0.2 >/dev/null 2>&1  # nobody answers: ARP requests go out
wait "$pid" || fail "the launcher exited $?"
grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "violations"
from=$(sed -n 's/^tap NIC 0 (safenic0): [0-9]* frames to the kernel, \([0-9]*\) from it$/\1/p' "$out")
to=$(sed -n 's/^tap NIC 0 (safenic0): \([0-9]*\) frames to the kernel.*/\1/p' "$out")
[[ ${from:-0} -ge 1 ]] || fail "nothing came from the kernel"
[[ ${to:-0} -ge 1 ]] || fail "nothing went back to the kernel"
arp=$(tshark -r "$TEST_TMPDIR/out.pcap" -Y "arp.opcode == 1 && arp.dst.proto_ipv4 == 10.99.0.2" 2>/dev/null | wc -l)
[[ $arp -ge 2 ]] || fail "the capture holds $arp of the kernel's ARP requests"
[[ $(ls "$TMPDIR") == "" ]] || fail "left in TMPDIR: $(ls "$TMPDIR")"
echo "PASS: $from frames from the kernel, $to back to it, $arp ARP requests in the capture"
