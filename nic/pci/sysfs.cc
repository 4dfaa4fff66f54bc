#include "nic/pci/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "mem/status.h"

namespace safenic::pci {
namespace {

// Names of the entries of a directory (no "." or ".."), sorted; empty if it
// cannot be read.
std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.push_back(e->d_name);
    }
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// sysfs prints ids as "0x8086\n" (drivers/pci/pci-sysfs.c).
absl::StatusOr<uint32_t> read_hex(const std::string& path) {
  SAFENIC_ASSIGN_OR_RETURN(auto text, read_attribute(path));
  absl::string_view v = text;
  absl::ConsumePrefix(&v, "0x");
  uint32_t value = 0;
  if (!absl::SimpleHexAtoi(v, &value)) {
    return absl::DataLossError(
        absl::StrFormat("%s holds '%s', not a hexadecimal number", path, text));
  }
  return value;
}

}  // namespace

absl::string_view class_name(uint32_t class_code) {
  // PCI Code and ID Assignment Specification 1.11, §1: base classes.
  switch (class_code >> 16) {
    case 0x00: return "unclassified device";
    case 0x01: return "mass storage controller";
    case 0x02: return "network controller";
    case 0x03: return "display controller";
    case 0x04: return "multimedia device";
    case 0x05: return "memory controller";
    case 0x06: return "bridge";
    case 0x07: return "communication controller";
    case 0x08: return "system peripheral";
    case 0x0c: return "serial bus controller";
    case 0xff: return "device of no assigned class";
    default: return "device";
  }
}

bool is_vfio_driver(absl::string_view d) { return d == "vfio-pci"; }
bool is_uio_driver(absl::string_view d) { return d == "uio_pci_generic" || d == "igb_uio"; }

absl::StatusOr<std::string> read_attribute(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return absl::NotFoundError(absl::StrFormat("cannot read %s: %s", path, std::strerror(err)));
  }
  absl::Cleanup closer = [fd] { ::close(fd); };
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) {
    return absl::DataLossError(absl::StrFormat("cannot read %s: %s", path, std::strerror(errno)));
  }
  return std::string(absl::StripAsciiWhitespace(absl::string_view(buf, n)));
}

std::string link_basename(const std::string& path) {
  char target[4096];
  const ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  if (n <= 0) return "";
  absl::string_view t(target, n);
  const size_t slash = t.rfind('/');
  return std::string(slash == absl::string_view::npos ? t : t.substr(slash + 1));
}

std::string SysfsTree::bus_dir() const {
  absl::string_view r = root_;
  absl::ConsumeSuffix(&r, "/");
  if (absl::ConsumeSuffix(&r, "/devices")) return std::string(r);
  return absl::StrCat(root_, "/..");
}

absl::StatusOr<PciDeviceInfo> SysfsTree::read_device(const std::string& address) const {
  PciDeviceInfo d;
  d.address = address;
  d.path = absl::StrCat(root_, "/", address);
  SAFENIC_ASSIGN_OR_RETURN(auto vendor, read_hex(d.path + "/vendor"));
  SAFENIC_ASSIGN_OR_RETURN(auto device, read_hex(d.path + "/device"));
  SAFENIC_ASSIGN_OR_RETURN(auto cls, read_hex(d.path + "/class"));
  d.id = {static_cast<uint16_t>(vendor), static_cast<uint16_t>(device)};
  d.class_code = cls;
  d.kernel_driver = link_basename(d.path + "/driver");
  const std::string group = link_basename(d.path + "/iommu_group");
  if (!group.empty() && !absl::SimpleAtoi(group, &d.iommu_group)) d.iommu_group = -1;
  // Network interfaces: <dev>/net/<if>, or one level down for drivers that
  // put a bus in between (virtio-pci: <dev>/virtioN/net/<if>).
  d.interfaces = list_dir(d.path + "/net");
  for (const std::string& sub : list_dir(d.path)) {
    if (absl::StartsWith(sub, "virtio")) {
      for (std::string& i : list_dir(absl::StrCat(d.path, "/", sub, "/net"))) {
        d.interfaces.push_back(std::move(i));
      }
    }
  }
  return d;
}

absl::StatusOr<std::vector<PciDeviceInfo>> SysfsTree::list() const {
  if (::access(root_.c_str(), R_OK | X_OK) != 0) {
    return absl::NotFoundError(
        absl::StrFormat("cannot list PCI devices: cannot read %s (%s): is sysfs mounted? (mount -t "
                        "sysfs sysfs /sys)",
                        root_, std::strerror(errno)));
  }
  std::vector<PciDeviceInfo> devices;
  for (const std::string& address : list_dir(root_)) {
    auto d = read_device(address);
    if (d.ok()) devices.push_back(*std::move(d));  // a device going away while we look
  }
  return devices;
}

absl::StatusOr<PciDeviceInfo> SysfsTree::find(absl::string_view address) const {
  const std::string dir = absl::StrCat(root_, "/", address);
  if (::access(dir.c_str(), F_OK) == 0) return read_device(std::string(address));
  SAFENIC_ASSIGN_OR_RETURN(auto all, list());
  std::vector<std::string> nics;
  for (const PciDeviceInfo& d : all) {
    if (!d.is_network()) continue;
    nics.push_back(absl::StrFormat(
        "%s (%04x:%04x, %s)", d.address, d.id.vendor, d.id.device,
        d.kernel_driver.empty() ? "no kernel driver" : "kernel driver " + d.kernel_driver));
  }
  return absl::NotFoundError(absl::StrFormat(
      "%s is not among the %d PCI devices under %s; network devices there: %s. "
      "Check the address with `lspci -D` or run nic_list",
      address, all.size(), root_, nics.empty() ? "none" : absl::StrJoin(nics, ", ")));
}

absl::Status SysfsTree::unbind_kernel_driver(const PciDeviceInfo& device, Syscalls& sys) const {
  if (device.kernel_driver.empty()) return absl::OkStatus();
  const std::string unbind = device.path + "/driver/unbind";
  const int fd = sys.open(unbind.c_str(), O_WRONLY);
  if (fd < 0) {
    const int err = errno;
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: cannot open %s to unbind kernel driver %s (%s); unbinding needs root",
                        device.address, unbind, device.kernel_driver, std::strerror(err)));
  }
  const ssize_t n = sys.pwrite(fd, device.address.data(), device.address.size(), 0);
  const int err = errno;
  sys.close(fd);
  if (n != static_cast<ssize_t>(device.address.size())) {
    return absl::InternalError(absl::StrFormat("%s: writing to %s failed: %s", device.address,
                                               unbind, std::strerror(err)));
  }
  const std::string still = link_basename(device.path + "/driver");
  if (!still.empty()) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: still bound to kernel driver %s after writing to %s; see dmesg, and "
                        "check %s/driver_override",
                        device.address, still, unbind, device.path));
  }
  return absl::OkStatus();
}

}  // namespace safenic::pci
