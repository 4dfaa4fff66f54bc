#!/usr/bin/env bash
# The real PCI path on a real Linux kernel with a real (emulated) IOMMU,
# against a virtio-net device someone else implemented: QEMU's.
#
# Boots Debian's kernel in QEMU (TCG: this machine's /dev/kvm hangs a stock
# kernel) with an Intel IOMMU and a virtio-net device whose frames travel as
# UDP datagrams (-netdev dgram) to echo_peer.py on the host, which sends each
# back with the MAC addresses swapped. In the guest (the initramfs's init):
# nic_list; opening the device while virtio-pci has it (refused, with the
# commands to unbind it); then bound to vfio-pci, 1000 frames out and back
# through VFIO with hugepage DMA memory, split ring, then packed (that device
# behind a PCI Express root port, so that afterwards the host can unplug it
# during traffic: a clear Status, every fd given back, the kernel removes it);
# before that,
# the error paths: no hugepages reserved, an unprivileged user's locked-memory
# limit, the IOMMU group held by another process. A third boot has no IOMMU:
# safenic unbinds the device from virtio-pci itself (unbind_kernel_driver),
# drives it through sysfs with physical addresses (/proc/self/pagemap), and
# the test gives it back to virtio-pci. A fourth does the same with a
# transitional device offering only the legacy interface, whose BAR0 is I/O
# port space (read and written through its sysfs resource file).
#
# Usage: vm_test.sh GUEST NIC_LIST ECHO_PEER  (Bazel passes the built files)
set -euo pipefail
guest_bin=$1 nic_list_bin=$2 echo_peer=$3

if ! command -v qemu-system-x86_64 >/dev/null || [[ ! -x /bin/busybox ]] || ! command -v cpio >/dev/null; then
  echo "SKIP: needs qemu-system-x86, busybox-static and cpio (./bazelw installs them)"
  exit 0
fi
work=${TEST_TMPDIR:-$(mktemp -d)}

# Debian's kernel, unpacked (not installed) into a cache kept between runs.
cache=${SAFENIC_VM_CACHE:-/var/tmp/safenic-vm}
mkdir -p "$cache"
package=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
[[ -n $package ]] || { echo "FAIL: apt-cache knows no linux-image-amd64 (apt-get update?)"; exit 1; }
kernel_dir="$cache/$package"
if [[ ! -f $kernel_dir/done ]]; then
  rm -rf "$kernel_dir" && mkdir -p "$kernel_dir"
  (cd "$kernel_dir" && apt-get download "$package" >/dev/null 2>&1) ||
    { echo "FAIL: cannot download $package (apt-get download; network to Debian's mirror?)"; exit 1; }
  dpkg -x "$kernel_dir"/*.deb "$kernel_dir/root" && rm -f "$kernel_dir"/*.deb && touch "$kernel_dir/done"
fi
vmlinuz=$(ls "$kernel_dir"/root/boot/vmlinuz-*)
modules=$(ls -d "$kernel_dir"/root/lib/modules/*)/kernel

# The initramfs: busybox, the modules in dependency order, the programs, init.
root="$work/root"
rm -rf "$root" && mkdir -p "$root"/{bin,lib/modules,proc,sys,dev}
cp /bin/busybox "$root/bin/"
for applet in sh mount echo cat ls insmod poweroff sleep chmod readlink basename; do ln -sf busybox "$root/bin/$applet"; done
load_order="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci irqbypass vfio vfio_virqfd vfio_iommu_type1 vfio-pci-core vfio-pci"
for m in $load_order; do
  ko=$(find "$modules" -name "$m.ko" | head -1)
  [[ -n $ko ]] || { echo "FAIL: module $m.ko is not in $package"; exit 1; }
  cp "$ko" "$root/lib/modules/"
done
cp "$guest_bin" "$root/bin/guest"
cp "$nic_list_bin" "$root/bin/nic_list"
cat >"$root/init" <<EOF
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in $load_order; do insmod /lib/modules/\$m.ko || echo "GUEST-RESULT insmod-\$m FAIL"; done
for d in /sys/bus/pci/devices/*; do [ "\$(cat \$d/vendor)" = 0x1af4 ] && device=\$(basename \$d); done
echo "GUEST: nic_list"
/bin/nic_list
/bin/guest kernel-bound \$device
case "\$(cat /proc/cmdline)" in
  *safenic.path=sysfs*)
    # No IOMMU: safenic takes the device from virtio-pci itself
    # (unbind_kernel_driver) and drives it through sysfs with physical
    # addresses; then virtio-pci gets it back.
    echo 16 > /proc/sys/vm/nr_hugepages
    /bin/guest traffic \$device 1000 unbind
    echo \$device > /sys/bus/pci/drivers/virtio-pci/bind
    driver=\$(basename \$(readlink /sys/bus/pci/devices/\$device/driver))
    if [ "\$driver" = virtio-pci ]; then echo "GUEST-RESULT given-back ok bound to virtio-pci again"
    else echo "GUEST-RESULT given-back FAIL bound to '\$driver'"; fi ;;
  *)
    echo vfio-pci > /sys/bus/pci/devices/\$device/driver_override
    echo \$device > /sys/bus/pci/devices/\$device/driver/unbind
    echo \$device > /sys/bus/pci/drivers_probe
    # The error paths on a real kernel, each a clear Status:
    /bin/guest expect-error no-hugepages \$device "no free 2 MiB hugepages"
    echo 16 > /proc/sys/vm/nr_hugepages
    chmod 666 /dev/vfio/*
    /bin/guest expect-error memlock \$device "ulimit -l" memlock
    /bin/guest hold \$device 4 &
    sleep 2
    /bin/guest expect-error group-busy \$device "busy"
    wait
    /bin/guest traffic \$device 1000
    case "\$(cat /proc/cmdline)" in
      *safenic.unplug*)  # the host unplugs the device during traffic
        /bin/guest unplug \$device
        gone=no
        for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
          [ -e /sys/bus/pci/devices/\$device ] || { gone=yes; break; }
          sleep 1
        done
        if [ \$gone = yes ]; then echo "GUEST-RESULT unplugged ok the kernel removed \$device"
        else echo "GUEST-RESULT unplugged FAIL \$device is still there"; fi ;;
    esac ;;
esac
echo "GUEST: done"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initramfs.cpio.gz")

sockets=$(mktemp -d /tmp/safenic-vm.XXXXXX)
trap 'rm -rf "$sockets"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

failed=0
boot() {  # ring format (split or packed), path (vfio, sysfs, or legacy: sysfs, transitional device), [unplug]
  local ring=$1 path=$2 name="$2-$1" unplug=${3:-}
  # (a UNIX socket path is at most 107 bytes: Bazel's TEST_TMPDIR is longer)
  local device=0000:00:03.0 slot=(-device) monitor=() mon="$sockets/monitor-$name"
  local console="$work/console-$name.txt" peer_log="$work/peer-$name.txt"
  local iommu=(-device intel-iommu,intremap=on,caching-mode=on,device-iotlb=on)
  local nic_options=",disable-legacy=on,iommu_platform=on,ats=on" cmdline="intel_iommu=on iommu=pt"
  if [[ $path == sysfs ]]; then
    iommu=() nic_options=",disable-legacy=on" cmdline="safenic.path=sysfs"
  elif [[ $path == vfio && $unplug == unplug ]]; then
    # Hot-pluggable: behind a PCI Express root port, with a monitor to unplug it.
    device=0000:01:00.0 cmdline+=" safenic.unplug"
    slot=(-device pcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1,addr=0x4 -device)
    nic_options+=",id=nic0,bus=rp0"
    monitor=(-monitor "unix:$mon,server=on,wait=off")
  elif [[ $path == legacy ]]; then
    # A transitional device offering only the legacy interface: BAR0 is I/O
    # port space. No IOMMU: a legacy device cannot use one (no ACCESS_PLATFORM).
    iommu=() nic_options=",disable-legacy=off,disable-modern=on" cmdline="safenic.path=sysfs"
  fi
  local qemu_port peer_port
  qemu_port=$(free_port) peer_port=$(free_port)
  python3 "$echo_peer" "$peer_port" "$qemu_port" 50 >"$peer_log" 2>&1 &
  local peer=$!
  local start=$SECONDS
  if [[ $unplug == unplug ]]; then  # device_del once the guest's traffic runs
    (
      for _ in $(seq 600); do
        grep -q "GUEST: traffic running" "$console" 2>/dev/null && break
        sleep 0.1
      done
      python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"device_del nic0\n"); time.sleep(1)' "$mon"
    ) &
  fi
  timeout 55 qemu-system-x86_64 -accel tcg,thread=multi -cpu max \
    -machine q35,kernel-irqchip=split -m 512 -smp 2 "${iommu[@]}" \
    "${slot[@]}" virtio-net-pci,netdev=n0${nic_options}$([[ $unplug == unplug ]] || echo ,addr=0x3),packed=$([[ $ring == packed ]] && echo on || echo off) \
    "${monitor[@]}" \
    -netdev dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$qemu_port,remote.type=inet,remote.host=127.0.0.1,remote.port=$peer_port \
    -kernel "$vmlinuz" -initrd "$work/initramfs.cpio.gz" \
    -append "console=ttyS0 $cmdline panic=-1 quiet" \
    -nographic -no-reboot </dev/null >"$console" 2>&1 || true
  kill "$peer" 2>/dev/null || true
  tr -d '\r' <"$console" >"$console.clean"
  local model="1af4:1041  virtio-net (modern)"
  [[ $path == legacy ]] && model="1af4:1000  virtio-net (legacy)"
  local want=(
    "$device  $model"
    "kernel driver:  virtio-pci"
    "to use it:      $device is bound to kernel driver virtio-pci"
    "GUEST-RESULT kernel-bound ok"
    "GUEST-RESULT open ok $device opened by the virtio driver, MAC 52:54:00:12:34:56, $ring ring"
    "GUEST-RESULT traffic ok sent 1000, received 1000 back intact, 0 damaged"
    "GUEST: done"
  )
  if [[ $path == vfio ]]; then
    want+=("IOMMU group:    " "GUEST-RESULT no-hugepages ok" "GUEST-RESULT memlock ok"
           "GUEST-RESULT group-busy ok")
    [[ $unplug == unplug ]] && want+=("GUEST-RESULT unplug ok" "GUEST-RESULT unplugged ok")
  else
    want+=("IOMMU group:    none" "GUEST-RESULT given-back ok")
  fi
  local missing=0
  for line in "${want[@]}"; do
    grep -qF -- "$line" "$console.clean" || { echo "FAIL ($name): the guest did not print: $line"; missing=1; }
  done
  if grep -q "GUEST-RESULT .* FAIL" "$console.clean"; then missing=1; fi
  grep "GUEST-RESULT" "$console.clean" | sed "s/^/[$name] /" || true
  echo "[$name] boot to power-off: $((SECONDS - start)) s"
  if ((missing)); then
    echo "---- guest console ($name) ----"
    cat "$console.clean"
    echo "---- echo peer ----"
    cat "$peer_log"
    failed=1
  fi
}

boot split vfio
boot packed vfio unplug
boot split sysfs
boot split legacy
((failed == 0)) && echo PASS
exit "$failed"
