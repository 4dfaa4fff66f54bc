#!/usr/bin/env bash
# run_with_simulated_nics runs an unmodified VFIO program against simulated
# NICs: safenic's own fwd, built for real PCI devices, finds two 82599 models
# in the launcher's sysfs tree, opens them through the preloaded VFIO
# emulation (BARs trapped, DMA through the checked IOMMU) and forwards the
# traffic sources' frames both ways, with no violation. Bad input gets a
# clear error and a non-zero exit, and nothing is left in TMPDIR.
set -euo pipefail
launcher=$1 fwd=$2 bad_bar_access=$3 make_pcap=$4
export TMPDIR=$TEST_TMPDIR/tmp
mkdir -p "$TMPDIR"
out=$TEST_TMPDIR/out
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$out"; exit 1; }

# Forwarding between two simulated NICs of each kind, a traffic source on
# each: the 82599 (memory BAR), virtio modern (capabilities in config space,
# MSI-X), virtio legacy (an I/O port BAR: pread/pwrite on the device fd) and
# the ConnectX-5 (command interface and doorbells through trapped pages).
for kind in 82599:ixgbe:82:0 virtio:virtio:1a:f virtio-legacy:virtio:1a:f cx5:mlx5:c5:0; do
  IFS=: read -r model driver mac_byte mac_nibble <<<"$kind"
  "$launcher" --nic 0000:00:04.0="$model" --nic 0000:00:05.0="$model" --source 0 --source 1 -- \
    "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --no_huge --seconds=1 >"$out" 2>&1 ||
    fail "$model: the launcher exited $?"
  grep -q "0000:00:04.0 ($driver) MAC 02:00:00:00:$mac_byte:${mac_nibble}.*link up" "$out" || fail "$model: port 0 not up"
  grep -q "0000:00:05.0 ($driver) MAC 02:00:00:00:$mac_byte:.*link up" "$out" || fail "$model: port 1 not up"
  grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "$model: violations"
  forwarded=$(sed -n 's/^fwd: forwarded \([0-9]*\) packets$/\1/p' "$out")
  [[ ${forwarded:-0} -gt 1000 ]] || fail "$model: forwarded ${forwarded:-nothing}"
  for s in 0 1; do
    received=$(sed -n "s/^source $s (NIC $s): sent [0-9]*, received \([0-9]*\)$/\1/p" "$out")
    [[ ${received:-0} -gt 500 ]] || fail "$model: source $s received ${received:-nothing}"
  done
  # Memory BARs trapped; virtio legacy's I/O BAR (the only one it has) is
  # not mapped but read and written with pread/pwrite, as vfio-pci offers it.
  traps=$(sed -n 's/^trapped_accesses \([0-9]*\)$/\1/p' "$out")
  if [[ $model == virtio-legacy ]]; then
    [[ ${traps:-1} -eq 0 ]] || fail "$model: ${traps:-no} trapped register accesses to an I/O BAR"
  else
    [[ ${traps:-0} -gt 50 ]] || fail "$model: only ${traps:-no} trapped register accesses"
  fi
done

# fwd --tx_first across a cable (as testpmd's `start tx_first`): 32 frames
# from each port go round, each forwarded frame crossing the cable once; the
# cable carried exactly what fwd sent (forwarded, and the 32 first ones).
"$launcher" --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599 --cable 0,1 -- \
  "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --no_huge --seconds=0.5 --tx_first=32 >"$out" 2>&1 ||
  fail "tx_first: the launcher exited $?"
sent0=$(sed -n 's/^port 0: received [0-9]*, sent \([0-9]*\),.*/\1/p' "$out")
wire0=$(sed -n 's/^cable 0 to 1: \([0-9]*\) frames.*/\1/p' "$out")
[[ ${sent0:-0} -gt 1000 && $sent0 -eq ${wire0:-0} ]] || fail "tx_first: port 0 sent ${sent0:-nothing}, the cable carried ${wire0:-nothing}"
grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "tx_first: violations"

# The sysfs/uio way (--driver uio_pci_generic), on every kind: fwd finds the
# NICs bound to uio_pci_generic and takes safenic's sysfs path: config and
# resourceN files (a memory BAR trapped; virtio legacy's I/O BAR through
# pread/pwrite), DMA memory on 2 MiB hugepages with physical addresses from
# /proc/self/pagemap, which the library makes up (from 4 GiB, a legacy virtio
# queue's 32-bit page number reaches them) and opens to the models' DMA
# hugepage by hugepage. Needs root (safenic's sysfs path asks for it) and 32
# free hugepages (.ci/run reserves them); else skipped.
free_huge=$(sed -n 's/^HugePages_Free: *//p' /proc/meminfo)
if [[ $(id -u) -ne 0 || ${free_huge:-0} -lt 32 ]]; then
  echo "SKIP uio: needs root and 32 free 2 MiB hugepages (uid $(id -u), ${free_huge:-0} free)"
else
  for model in 82599 virtio virtio-legacy cx5; do
    "$launcher" --driver uio_pci_generic --nic 0000:00:04.0=$model --nic 0000:00:05.0=$model --cable 0,1 -- \
      "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --seconds=0.5 --tx_first=32 >"$out" 2>&1 ||
      fail "uio $model: the launcher exited $?"
    sent0=$(sed -n 's/^port 0: received [0-9]*, sent \([0-9]*\),.*/\1/p' "$out")
    wire0=$(sed -n 's/^cable 0 to 1: \([0-9]*\) frames.*/\1/p' "$out")
    [[ ${sent0:-0} -gt 1000 && $sent0 -eq ${wire0:-0} ]] ||
      fail "uio $model: port 0 sent ${sent0:-nothing}, the cable carried ${wire0:-nothing}"
    grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "uio $model: violations"
    # Every DMA region's pages were read (4 KiB at a time: safenic checks that
    # a region is physically contiguous) and opened, whole hugepages.
    entries=$(sed -n 's/^pagemap: \([0-9]*\) entries read; up to [0-9]* bytes.*/\1/p' "$out")
    opened=$(sed -n 's/^pagemap: [0-9]* entries read; up to \([0-9]*\) bytes.*/\1/p' "$out")
    [[ ${entries:-0} -gt 512 && ${opened:-0} -gt 0 && $((${opened:-0} % (2 << 20))) -eq 0 ]] ||
      fail "uio $model: pagemap read ${entries:-no} entries and opened ${opened:-no} bytes"
  done
fi

# Wires from files: 100 frames replayed into NIC 0 (--pcap-in), NIC 1
# captured (--capture) behind its loopback plug. fwd forwards each frame
# NIC 0 -> NIC 1, out through the capture and the plug and back in (captured
# twice: sent and received), then NIC 1 -> NIC 0, back to the replaying
# port. The capture must hold those 200 frames, readable by another reader.
python3 "$make_pcap" "$TEST_TMPDIR/in.pcap" 100
"$launcher" --nic 0000:00:04.0=82599 --nic 0000:00:05.0=82599 \
    --pcap-in 0="$TEST_TMPDIR/in.pcap" --capture 1="$TEST_TMPDIR/out.pcap" -- \
  "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --no_huge --seconds=1 >"$out" 2>&1 ||
  fail "pcap: the launcher exited $?"
grep -q "^pcap-in NIC 0: sent 100 of the 100 frames of $TEST_TMPDIR/in.pcap, received 100$" "$out" ||
  fail "pcap: the replay did not get its 100 frames back"
grep -q "^capture NIC 1: 200 frames into $TEST_TMPDIR/out.pcap$" "$out" || fail "pcap: the capture does not hold 200 frames"
records=$(python3 - "$TEST_TMPDIR/out.pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert struct.unpack("<I", data[:4])[0] in (0xA1B2C3D4, 0xA1B23C4D), "not a pcap file"
n, at = 0, 24
while at < len(data):
    caplen = struct.unpack("<IIII", data[at:at + 16])[2]
    assert data[at + 16 + 12:at + 16 + 14] == b"\x08\x00", "not the frames sent"
    at += 16 + caplen
    n += 1
print(n)
PY
)
[[ $records == 200 ]] || fail "pcap: the capture file holds $records frames"
grep -q "^run_with_simulated_nics: violations 0$" "$out" || fail "pcap: violations"

# Bad input: a clear message and a non-zero exit.
expect_exit() {  # code, pattern, command...
  local code=$1 pattern=$2
  shift 2
  set +e
  "$@" >"$out" 2>&1
  local got=$?
  set -e
  [[ $got -eq $code ]] || fail "'$*' exited $got, not $code"
  grep -q -- "$pattern" "$out" || fail "'$*' did not say '$pattern'"
}
expect_exit 2 "no simulated NIC 'nosuch'" "$launcher" --nic 0000:00:04.0=nosuch -- /bin/true
expect_exit 2 "no program to run" "$launcher" --nic 0000:00:04.0=82599
expect_exit 2 "want ADDRESS=KIND" "$launcher" --nic 0000:00:04.0 -- /bin/true
expect_exit 2 "no --nic" "$launcher" -- /bin/true
expect_exit 2 "no file" "$launcher" --nic 0000:00:04.0=82599 --pcap-in 0=/nonexistent.pcap -- /bin/true
expect_exit 2 "want I=FILE" "$launcher" --nic 0000:00:04.0=82599 --capture 0 -- /bin/true
expect_exit 127 "cannot run" "$launcher" --nic 0000:00:04.0=82599 -- /nonexistent/program
# The program's own failure is its exit status.
expect_exit 1 "0000:00:09.0 is not among the 1 PCI devices" "$launcher" --nic 0000:00:04.0=82599 -- "$fwd" --dev0=0000:00:09.0 --dev1=0000:00:04.0 --no_huge
# A BAR access the trap handler cannot emulate (a 16-byte SSE load) ends the
# program with the offset and the instruction's bytes (f3 0f 6f: movdqu).
expect_exit 1 "at offset 0x10 of .*(bytes f3 0f 6f" "$launcher" --nic 0000:00:04.0=82599 -- \
  "$bad_bar_access" 0000:00:04.0
grep -q "^STATUS " "$out" || fail "the plain read before it was not emulated"
grep -q "ended before the library could write its summary" "$out" || fail "the launcher did not say the program ended early"
grep -q "the 16-byte load returned" "$out" && fail "the 16-byte load was not stopped"
# A static program cannot load the library: said so, exit 4.
if [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1; then
  expect_exit 4 "a static program cannot" "$launcher" --nic 0000:00:04.0=82599 -- /bin/busybox true
fi
# Nothing left behind.
leftover=$(ls "$TMPDIR")
[[ -z $leftover ]] || fail "left in TMPDIR: $leftover"
echo PASS
