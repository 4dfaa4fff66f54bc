#!/usr/bin/env bash
# nic_list on a tree laid out like /sys/bus/pci/devices: the devices, their
# safenic and kernel drivers, IOMMU groups, hugepages, and what to do.
set -uo pipefail
nic_list="$1"
failed=0 passed=0
# nic_list wraps long lines: compare with runs of blanks and newlines as one space.
squeeze() { printf '%s' "$1" | tr -s ' \n' ' '; }
check() {  # name, text, expected fixed string
  if grep -qF -- "$(squeeze "$3")" <<<"$(squeeze "$2")"; then passed=$((passed + 1)); else
    echo "FAIL: $1: no '$3' in:"; echo "$2"; failed=$((failed + 1)); fi
}
check_not() {
  if grep -qF -- "$3" <<<"$2"; then
    echo "FAIL: $1: unexpected '$3' in:"; echo "$2"; failed=$((failed + 1)); else passed=$((passed + 1)); fi
}

base=$(mktemp -d "${TEST_TMPDIR:-/tmp}/nic_list.XXXXXX")
root="$base/sys/bus/pci/devices"
mkdir -p "$root" "$base/sys/bus/pci/drivers/ixgbe" "$base/sys/kernel/iommu_groups/14"
device() {  # address vendor device class [driver] [iommu group] [interface]
  local dir="$base/sys/devices/pci0000:00/$1"
  mkdir -p "$dir"
  ln -s "../../../devices/pci0000:00/$1" "$root/$1"
  echo "$2" >"$dir/vendor"; echo "$3" >"$dir/device"; echo "$4" >"$dir/class"
  if [[ -n "${5:-}" ]]; then
    mkdir -p "$base/sys/bus/pci/drivers/$5"
    ln -s "../../../bus/pci/drivers/$5" "$dir/driver"
  fi
  if [[ -n "${6:-}" ]]; then
    mkdir -p "$base/sys/kernel/iommu_groups/$6"
    ln -s "../../../kernel/iommu_groups/$6" "$dir/iommu_group"
  fi
  if [[ -n "${7:-}" ]]; then mkdir -p "$dir/net/$7"; fi
}
device 0000:00:00.0 0x8086 0x0d57 0x060000
device 0000:00:1f.2 0x8086 0xa102 0x010601 ahci
device 0000:03:00.0 0x8086 0x10fb 0x020000
device 0000:03:00.1 0x8086 0x10fb 0x020000 ixgbe 14 enp3s0f1
device 0000:81:00.0 0x15b3 0x1017 0x020000 vfio-pci 40
printf 'HugePages_Total:       8\nHugePages_Free:        6\nHugepagesize:       2048 kB\n' \
  >"$base/meminfo"

out=$("$nic_list" --sysfs_root="$root" --meminfo="$base/meminfo" \
  --vfio_dir="$base/dev/vfio" 2>&1); rc=$?
check "exits 0" "rc=$rc" "rc=0"
check "counts" "$out" "nic_list: 3 network controller(s) (class 0x02) of 5 PCI devices under $root"
check "82599 line" "$out" "0000:03:00.0  8086:10fb  Intel 82599ES 10 GbE (SFI/SFP+) (class 0x020000)"
check "safenic driver" "$out" "safenic driver: ixgbe"
check "free 82599 is ready" "$out" 'ready: open_device("0000:03:00.0") drives it through sysfs'
check "kernel driver and interface" "$out" "kernel driver:  ixgbe (interface enp3s0f1)"
check "IOMMU group" "$out" "IOMMU group:    14"
check "no IOMMU group" "$out" "IOMMU group:    none (VFIO is not possible)"
check "how to unbind" "$out" "echo 0000:03:00.1 | sudo tee $root/0000:03:00.1/driver/unbind"
check "how to bind to vfio-pci" "$out" "echo vfio-pci | sudo tee"
check "ConnectX-5 named" "$out" "0000:81:00.0  15b3:1017  NVIDIA ConnectX-5"
check "ConnectX-5 kernel driver" "$out" "kernel driver:  vfio-pci"
check "hugepages" "$out" "hugepages:      6 of 8 2 MiB hugepages free (12 MiB)"
check "VFIO missing" "$out" "VFIO:           not loaded ($base/dev/vfio/vfio is missing): sudo modprobe vfio-pci"
check_not "only NICs" "$out" "0000:00:1f.2"

out=$("$nic_list" --sysfs_root="$root" --meminfo="$base/meminfo" --all 2>&1)
check "--all lists every device" "$out" "0000:00:1f.2  8086:a102  mass storage controller (class 0x010601)"
check "--all counts" "$out" "nic_list: 5 device(s) of 5 PCI devices"

printf 'HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB\n' \
  >"$base/meminfo"
out=$("$nic_list" --sysfs_root="$root" --meminfo="$base/meminfo" 2>&1)
check "no hugepages: what to run" "$out" "none reserved; reserve some: echo 512 | sudo tee /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
check "no hugepages blocks the free device" "$out" "no free 2 MiB hugepages for DMA memory"

empty="$base/empty/devices"; mkdir -p "$empty"
out=$("$nic_list" --sysfs_root="$empty" --meminfo="$base/meminfo" 2>&1); rc=$?
check "no NICs: exits 0" "rc=$rc" "rc=0"
check "no NICs: says so" "$out" "no PCI network devices here: safenic has no NIC to drive on this machine"

out=$("$nic_list" --sysfs_root="$base/nonexistent" 2>&1); rc=$?
check "no sysfs: fails clearly" "rc=$rc $out" "rc=1 nic_list: cannot list PCI devices: cannot read $base/nonexistent"

# This machine: whatever it has, nic_list works and ends with the summary.
out=$("$nic_list" 2>&1); rc=$?
check "this machine: exits 0" "rc=$rc" "rc=0"
check "this machine: hugepage line" "$out" "hugepages:"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
