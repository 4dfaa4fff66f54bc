#!/usr/bin/env bash
# DPDK 22.11's testpmd, unchanged, under run_with_simulated_nics, on two
# simulated NICs joined by a cable, for each kind it has a PMD for: it finds
# them in the launcher's sysfs tree, opens them through the emulated VFIO
# (DMA at its own virtual addresses, BARs trapped), brings the links up and
# forwards (io mode, `start tx_first`) for two seconds, every descriptor and
# buffer DMA checked by the simulated IOMMU. Then testpmd's own counters
# (`show port stats all`) must agree with the cable's: each port sent what
# the cable carried from it, byte for byte, and the other port received it
# all but for what was still in its receive ring at `stop`; nothing missed,
# nothing dropped by a model.
#   - net_ixgbe on 82599s, on its three data paths: vector (the default on
#     x86), scalar (bulk-allocating receive, simple transmit) and
#     full-featured (scattered receive, the transmit path with offloads);
#   - net_virtio on modern virtio-net devices with the packed ring and with
#     the split ring, and on legacy ones.
# The only reports allowed are DPDK's known deviations from the virtio
# specification (docs/fidelity.md): the MAC written into a modern device's
# configuration space, and the split-ring control queue's descriptors out of
# IN_ORDER ring order. Any other report fails the test, so what DPDK found
# and was fixed stays fixed.
set -euo pipefail
launcher=$1 make_pcap=$2
out=$TEST_TMPDIR/out
export TMPDIR=$TEST_TMPDIR/tmp
mkdir -p "$TMPDIR"
fail() { echo "FAIL: $*"; echo "--- output (end):"; grep -v "^safenic simulated NIC violation" "$out" | tail -40; exit 1; }
command -v dpdk-testpmd >/dev/null || fail "dpdk-testpmd is missing (./bazelw installs dpdk-dev)"

mac_writes='virtio-net: write of 1 bytes at BAR4 offset 0x200[0-5]$'
control_queue_order="virtio-net: IN_ORDER: queue 8's buffer made available at descriptor 0; ring order says 3$"

# kind, name of the run, MAC of port 0, the reports allowed (a regex; empty:
# none), what DPDK logs for the data path it chose (empty: not checked), then
# testpmd's EAL options and, after --, its application options.
forward() {
  local kind=$1 name=$2 mac0=$3 allowed=$4 path=$5
  shift 5
  local eal=() app=()
  while [[ $# -gt 0 && $1 != -- ]]; do eal+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  app=("$@")
  set +e
  feed() {  # testpmd's input: once it is up (its first prompt), forward for two seconds
    local i
    for ((i = 0; i < 600; ++i)); do grep -q "testpmd> " "$out" 2>/dev/null && break; sleep 0.1; done
    printf 'show port info all\nstart tx_first\n'
    sleep 2
    printf 'stop\nshow port stats all\nquit\n'
  }
  : >"$out"
  feed |
    "$launcher" "${driver[@]}" --nic 0000:00:04.0="$kind" --nic 0000:00:05.0="$kind" --cable 0,1 -- \
      dpdk-testpmd "${memory[@]}" --no-shconf --file-prefix="safenic-sim-$$" \
        "${eal[@]}" -a 0000:00:04.0 -a 0000:00:05.0 -- -i --total-num-mbufs=2048 "${app[@]}" >"$out" 2>&1
  local code=$?
  set -e
  # 0: clean; 3: testpmd succeeded and the models reported violations.
  [[ $code -eq 0 || $code -eq 3 ]] || fail "$name: exit status $code"
  grep -qi "MAC address: $mac0" "$out" || fail "$name: port 0's MAC is not the model's"
  [[ $(grep -c "Link status: up" "$out") -eq 2 ]] || fail "$name: the links are not both up"
  grep -q "Port 1 is closed" "$out" || fail "$name: testpmd did not close its ports"
  local others
  others=$(grep "^safenic simulated NIC violation: " "$out" | { if [[ -n $allowed ]]; then grep -Ev -- "$allowed"; else cat; fi; } | head -5 || true)
  [[ -z $others ]] || fail "$name: reports of a kind not expected: $others"
  grep -q "^NIC 0 dropped: none" "$out" || fail "$name: the first model dropped frames"
  grep -q "^NIC 1 dropped: none" "$out" || fail "$name: the second model dropped frames"
  [[ -z $path ]] || grep -q -- "$path" "$out" || fail "$name: DPDK did not say '$path'"
  # testpmd's counters, port 0 then port 1; the cable's, each way.
  local rx tx rx_bytes tx_bytes missed wire wire_bytes
  mapfile -t rx < <(sed -n 's/^ *RX-packets: *\([0-9]*\) *RX-missed.*/\1/p' "$out")
  mapfile -t missed < <(sed -n 's/^ *RX-packets: *[0-9]* *RX-missed: *\([0-9]*\).*/\1/p' "$out")
  mapfile -t rx_bytes < <(sed -n 's/^ *RX-packets:.*RX-bytes: *\([0-9]*\).*/\1/p' "$out")
  mapfile -t tx < <(sed -n 's/^ *TX-packets: *\([0-9]*\) *TX-errors.*/\1/p' "$out")
  mapfile -t tx_bytes < <(sed -n 's/^ *TX-packets:.*TX-bytes: *\([0-9]*\).*/\1/p' "$out")
  mapfile -t wire < <(sed -n 's/^cable [01] to [01]: \([0-9]*\) frames.*/\1/p' "$out")
  mapfile -t wire_bytes < <(sed -n 's/^cable [01] to [01]: [0-9]* frames, \([0-9]*\) bytes/\1/p' "$out")
  [[ ${#rx[@]} -eq 2 && ${#tx[@]} -eq 2 && ${#wire[@]} -eq 2 ]] || fail "$name: no port or cable statistics"
  for p in 0 1; do
    local other=$((1 - p))
    [[ ${tx[$p]} -eq ${wire[$p]} ]] || fail "$name: port $p sent ${tx[$p]} frames; the cable carried ${wire[$p]}"
    [[ ${tx_bytes[$p]} -eq ${wire_bytes[$p]} ]] || fail "$name: port $p sent ${tx_bytes[$p]} bytes; the cable carried ${wire_bytes[$p]}"
    [[ ${missed[$other]} -eq 0 ]] || fail "$name: port $other missed ${missed[$other]} frames"
    [[ ${rx[$other]} -gt 10000 ]] || fail "$name: port $other received only ${rx[$other]}"
    local in_ring=$((wire[p] - rx[other]))
    [[ $in_ring -ge 0 && $in_ring -le 512 ]] || fail "$name: port $other received ${rx[$other]} of the ${wire[$p]} the cable carried"
    [[ $((wire_bytes[p] - rx_bytes[other])) -eq $((in_ring * 64)) ]] ||
      fail "$name: port $other received ${rx_bytes[$other]} bytes of the cable's ${wire_bytes[$p]}"
  done
  local traps violations
  traps=$(sed -n 's/^trapped_accesses \([0-9]*\)$/\1/p' "$out")
  violations=$(sed -n 's/^run_with_simulated_nics: violations \([0-9]*\)$/\1/p' "$out")
  echo "$name: forwarded ${rx[1]} + ${rx[0]} frames, counters agree with the cable; $traps trapped register accesses, ${violations:-0} reports"
}

# Bound to vfio-pci (the launcher's default): DMA memory mapped with VFIO at
# DPDK's virtual addresses, on ordinary pages.
driver=() memory=(--no-huge -m 256 --iova-mode=va)

# net_ixgbe logs the receive and transmit functions it picks at debug level.
log=--log-level=pmd.net.ixgbe.*:debug
forward 82599 "net_ixgbe, vector" 02:00:00:00:82:01 "" "Vector rx enabled" "$log"
forward 82599 "net_ixgbe, scalar" 02:00:00:00:82:01 "" "Rx Burst Bulk Alloc function will be used" \
  "$log" --force-max-simd-bitwidth=64
forward 82599 "net_ixgbe, full-featured" 02:00:00:00:82:01 "" "Using full-featured tx code path" \
  "$log" --force-max-simd-bitwidth=64 -- --tx-offloads=0x2 --rx-offloads=0x2000
forward virtio "net_virtio, packed ring" 02:00:00:00:1a:f4 "$mac_writes" ""
forward virtio-split "net_virtio, split ring" 02:00:00:00:1a:f4 "$mac_writes|$control_queue_order" ""
forward virtio-legacy "net_virtio, legacy" 02:00:00:00:1a:f4 "" ""

# The sysfs/uio way: the NICs bound to uio_pci_generic. DPDK maps the BARs
# from the resource files, opens /dev/uioN and the configuration space by uio's
# class path, chooses IOVA mode PA and reads each hugepage's physical address
# from /proc/self/pagemap, which the library answers (physical = virtual) and
# opens that hugepage to the models' DMA. Memory on 2 MiB hugepages
# (--in-memory: no hugetlbfs mount needed): 16 free ones (.ci/run reserves
# them), else skipped.
free_huge=$(sed -n 's/^HugePages_Free: *//p' /proc/meminfo)
if [[ ${free_huge:-0} -lt 16 ]]; then
  echo "SKIP net_ixgbe over uio_pci_generic: needs 16 free 2 MiB hugepages (${free_huge:-0} free)"
else
  driver=(--driver uio_pci_generic) memory=(--in-memory)
  forward 82599 "net_ixgbe over uio_pci_generic" 02:00:00:00:82:01 "" "Selected IOVA mode 'PA'" "$log"
  opened=$(sed -n 's/^pagemap: [0-9]* entries read; up to \([0-9]*\) bytes.*/\1/p' "$out")
  [[ ${opened:-0} -ge $((2 << 20)) ]] || fail "uio: pagemap opened ${opened:-no} bytes to DMA"
  forward virtio "net_virtio over uio_pci_generic" 02:00:00:00:1a:f4 "$mac_writes" "Selected IOVA mode 'PA'"
  # A legacy device's I/O BAR: DPDK's uio path reaches it with port
  # instructions after iopl(), which the library refuses (they would reach
  # this machine's own ports). DPDK says so and skips the devices; nothing
  # else happens.
  set +e
  echo quit | "$launcher" "${driver[@]}" --nic 0000:00:04.0=virtio-legacy -- \
    dpdk-testpmd "${memory[@]}" --no-shconf --file-prefix="safenic-sim-$$" -a 0000:00:04.0 -- -i --total-num-mbufs=2048 >"$out" 2>&1
  code=$?
  set -e
  [[ $code -eq 0 ]] || fail "legacy over uio: exit status $code"
  grep -q "insufficient ioport permissions for PCI device 0000:00:04.0" "$out" || fail "legacy over uio: DPDK did not say why"
  grep -q "^trapped_accesses 0$" "$out" || fail "legacy over uio: the device was touched"
  echo "net_virtio, legacy over uio_pci_generic: refused (port I/O), as DPDK reports"
  driver=() memory=(--no-huge -m 256 --iova-mode=va)
fi

# Wires from files: 100 frames replayed into port 0 (--pcap-in) once the
# driver receives, port 1 captured (--capture) behind its loopback plug.
# testpmd (io mode; --no-flush-rx: it would drop what waits in the rings at
# `start`) forwards each frame port 0 -> port 1, out and back in through the
# plug (captured twice), port 1 -> port 0, back to the replaying port.
python3 "$make_pcap" "$TEST_TMPDIR/in.pcap" 100
: >"$out"
{
  for ((i = 0; i < 600; ++i)); do grep -q "testpmd> " "$out" 2>/dev/null && break; sleep 0.1; done
  printf 'start\n'; sleep 1; printf 'stop\nquit\n'
} | "$launcher" --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599 \
      --pcap-in 0="$TEST_TMPDIR/in.pcap" --capture 1="$TEST_TMPDIR/out.pcap" -- \
      dpdk-testpmd --no-huge -m 256 --iova-mode=va --no-shconf --file-prefix="safenic-sim-$$" \
        -a 0000:00:04.0 -a 0000:00:05.0 -- -i --total-num-mbufs=2048 --no-flush-rx >"$out" 2>&1 ||
  fail "pcap: exit status $?"
grep -q "^pcap-in NIC 0: sent 100 of the 100 frames of .*, received 100$" "$out" || fail "pcap: the replay did not get its frames back"
grep -q "^capture NIC 1: 200 frames into " "$out" || fail "pcap: the capture does not hold 200 frames"
grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "pcap: violations"
echo "net_ixgbe, pcap: 100 frames replayed, forwarded round and back, 200 captured"
[[ $(ls "$TMPDIR") == "" ]] || fail "left in TMPDIR: $(ls "$TMPDIR")"
echo PASS
