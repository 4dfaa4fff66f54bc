#!/usr/bin/env bash
# Linux reaches //examples:echo (a simulated 82599 cabled to a TAP) in a fresh
# network namespace: ARP resolves, `ping -c 20` gets 20 replies, UDP datagrams
# sent through the kernel's socket API come back unchanged, Ctrl-C stops the
# service cleanly, and its capture of the cable reads back in tshark. Only
# addresses inside the namespace are used; the namespace is deleted at exit.
set -uo pipefail
echo_bin=$(realpath "$1") udp_client=$(realpath "$2")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
ns=safenic-test-$$
tap=safenic0
failed=0 passed=0
check() {  # name, text, expected pattern
  if grep -qE -- "$3" <<<"$2"; then passed=$((passed + 1)); else
    echo "FAIL: $1: no match for /$3/ in:"; echo "$2"; failed=$((failed + 1)); fi
}

skip() { echo "SKIPPED: $*"; echo "0 passed, 0 failed, 1 skipped"; exit 0; }
[[ $(id -u) -eq 0 ]] || skip "needs root for network namespaces and /dev/net/tun (CI runs as root)"
[[ -c /dev/net/tun ]] || skip "/dev/net/tun is not there (modprobe tun)"
command -v ip >/dev/null || { echo "FAIL: ip (iproute2) is missing; ./bazelw installs it"; exit 1; }
command -v ping >/dev/null || { echo "FAIL: ping (iputils-ping) is missing; ./bazelw installs it"; exit 1; }
command -v tshark >/dev/null || { echo "FAIL: tshark is missing; ./bazelw installs it"; exit 1; }
ip netns add "$ns" 2>"$tmp/netns.err" || skip "cannot create a network namespace: $(cat "$tmp/netns.err")"

echo_pid=
cleanup() {
  [[ -n $echo_pid ]] && kill "$echo_pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT

in_ns() { ip netns exec "$ns" "$@"; }

# The service creates the TAP inside the namespace; the kernel's side gets 10.99.0.1.
# (ip netns exec execs echo in place, so $! is echo's own pid.)
ip netns exec "$ns" "$echo_bin" --tap="$tap" --ip=10.99.0.2 --udp_port=7 --seconds=120 \
  --capture="$tmp/echo.pcap" >"$tmp/echo.out" 2>&1 &
echo_pid=$!
for _ in $(seq 100); do
  in_ns ip link show "$tap" >/dev/null 2>&1 && break
  sleep 0.05
done
if ! in_ns ip link show "$tap" >/dev/null 2>&1; then
  if grep -q "CAP_NET_ADMIN\|/dev/net/tun" "$tmp/echo.out"; then
    skip "TAP not permitted here: $(cat "$tmp/echo.out")"
  fi
  echo "FAIL: echo did not create $tap:"; cat "$tmp/echo.out"; exit 1
fi
in_ns ip addr add 10.99.0.1/24 dev "$tap"
in_ns ip link set "$tap" up
# The kernel marks the link operational a moment later (carrier is already on:
# echo has cabled the NIC to the TAP); ping after that.
for _ in $(seq 100); do
  in_ns ip link show "$tap" | grep -q "state UP" && break
  sleep 0.05
done

out=$(in_ns ping -c 20 -i 0.05 -W 1 10.99.0.2 2>&1)
check "ping gets 20 replies" "$out" "20 packets transmitted, 20 received, 0% packet loss"
check "the replies come from the simulated NIC" "$out" "64 bytes from 10.99.0.2: icmp_seq=20 ttl=64"
check "ping finds nothing wrong in the replies" "$(grep -ciE 'bad|wrong|dup' <<<"$out")" "^0$"
out=$(in_ns ip neigh show 10.99.0.2 dev "$tap")
check "ARP resolved to the simulated 82599's MAC" "$out" "lladdr 02:00:00:00:82:01"

out=$(in_ns "$udp_client" 10.99.0.2 7 2>&1); rc=$?
check "UDP round trips through the kernel's sockets" "rc=$rc $out" "^rc=0 "
check "UDP payloads come back unchanged" "$out" "1472 bytes came back unchanged"
out=$(in_ns "$udp_client" 10.99.0.2 9 2>&1); rc=$?
check "UDP to another port gets no echo" "rc=$rc $out" "rc=1 udp_client: 1 bytes: no answer"

kill -INT "$echo_pid"  # Ctrl-C
for _ in $(seq 100); do kill -0 "$echo_pid" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$echo_pid" 2>/dev/null; then
  check "echo stops at Ctrl-C" "still running" "^stopped$"
else
  wait "$echo_pid"; rc=$?
  check "echo stops cleanly at Ctrl-C" "rc=$rc" "^rc=0$"
fi
echo_pid=
out=$(cat "$tmp/echo.out")
check "echo reports per second" "$out" "echo: last second: received [0-9]+, replied"
check "echo answered 20 pings and the UDP datagrams" "$out" \
  "echo: total: received [0-9]+, replied [0-9]+ \(arp [1-9][0-9]*, icmp 20, udp ([5-9]|[1-9][0-9])\)"
check "no bad frames, no TX ring full" "$out" "bad 0, TX ring full 0$"
check "echo closed its capture" "$out" "echo: wrote [0-9]+ frames to"

# The capture of the cable, read by tshark: 20 requests, 20 replies, the ARP
# exchange and the UDP datagrams both ways; Wireshark checks every checksum
# of the replies itself.
count() {
  tshark -r "$tmp/echo.pcap" -o ip.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -Y "$1" 2>/dev/null | wc -l
}
check "capture: 20 echo requests" "$(count 'icmp.type == 8')" "^20$"
check "capture: 20 echo replies, checksums good" \
  "$(count 'icmp.type == 0 && ip.src == 10.99.0.2 && icmp.checksum.status == 1 && ip.checksum.status == 1')" "^20$"
check "capture: UDP echoes with good checksums" \
  "$(count 'ip.src == 10.99.0.2 && udp.checksum.status == 1 && ip.checksum.status == 1')" "^([5-9]|[1-9][0-9])$"
check "capture: ARP reply from the NIC" "$(count 'arp.opcode == 2 && arp.src.hw_mac == 02:00:00:00:82:01')" "^[1-9]"
check "capture: UDP echoed" "$(count 'udp.srcport == 7 && ip.src == 10.99.0.2')" "^([5-9]|[1-9][0-9])$"
check "capture: nanosecond timestamps" "$(capinfos -M "$tmp/echo.pcap" 2>&1)" "nanoseconds"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
