#include "nic/pci/sysfs_function.h"

#include "mem/status.h"
#include "nic/pci/port_bar.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace safenic::pci {
namespace {

bool parse_hex64(absl::string_view s, uint64_t* out) {
  absl::ConsumePrefix(&s, "0x");
  return absl::SimpleHexAtoi(s, out);
}

}  // namespace

absl::StatusOr<ResourceLine> read_resource_line(const std::string& device_path, int index) {
  const std::string path = device_path + "/resource";
  SAFENIC_ASSIGN_OR_RETURN(auto text, read_attribute(path));
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  ResourceLine r;
  if (index < static_cast<int>(lines.size())) {
    std::vector<absl::string_view> f = absl::StrSplit(lines[index], ' ', absl::SkipEmpty());
    if (f.size() < 3 || !parse_hex64(f[0], &r.start) || !parse_hex64(f[1], &r.end) ||
        !parse_hex64(f[2], &r.flags)) {
      return absl::DataLossError(
          absl::StrFormat("%s line %d is not 'start end flags': '%s'", path, index, lines[index]));
    }
  }
  return r;
}

SysfsFunction::SysfsFunction(const PciDeviceInfo& device, std::shared_ptr<Syscalls> sys, Fd config)
    : HostFunction(device, DmaAllocator(Backing::kHugepage2M, std::make_shared<PagemapMapper>())),
      sys_(std::move(sys)),
      config_fd_(std::move(config)) {
  config_ = ConfigSpace(sys_, config_fd_.get(), 0, device.address);
}

absl::StatusOr<std::unique_ptr<SysfsFunction>> SysfsFunction::open(const PciDeviceInfo& device,
                                                                   std::shared_ptr<Syscalls> sys) {
  const std::string path = device.path + "/config";
  const int fd = sys->open(path.c_str(), O_RDWR);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(
          absl::StrFormat("%s: cannot open %s (%s): driving a device through sysfs needs root; run "
                          "with sudo, or bind it to vfio-pci and use VFIO",
                          device.address, path, std::strerror(err)));
    }
    return absl::UnavailableError(
        absl::StrFormat("%s: cannot open %s (%s): did the device go away? check `lspci -s %s`",
                        device.address, path, std::strerror(err), device.address));
  }
  auto fn = std::unique_ptr<SysfsFunction>(new SysfsFunction(device, sys, Fd(sys, fd)));
  SAFENIC_RETURN_IF_ERROR(fn->start());
  return fn;
}

absl::StatusOr<std::unique_ptr<Bar>> SysfsFunction::map_bar(int index) {
  auto line = read_resource_line(device_.path, index);
  const std::string path = absl::StrCat(device_.path, "/resource", index);
  if (line.ok() && (line->flags & ResourceLine::kIo) != 0) {
    // I/O port space cannot be mapped; Linux serves reads and writes of the
    // resource file with port instructions (x86): a PortBar.
    const int fd = sys_->open(path.c_str(), O_RDWR);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: BAR %d is I/O port space and %s cannot be opened (%s): run as root, or "
          "bind the device to vfio-pci",
          name(), index, path, std::strerror(errno)));
    }
    return std::make_unique<PortBar>(sys_, fd, 0, line->size(), Fd(sys_, fd));
  }
  const int fd = sys_->open(path.c_str(), O_RDWR);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && line.ok() && (line->flags & ResourceLine::kMem) != 0 && line->size() > 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: BAR %d is memory (%d bytes at 0x%x), but the kernel offers no %s to map "
          "it (this kernel or hypervisor exposes no PCI resource files); use VFIO: bind "
          "the device to vfio-pci",
          name(), index, line->size(), line->start, path));
    }
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrFormat(
          "%s: has no memory BAR %d (no %s); is this the device you meant?", name(), index, path));
    }
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: cannot open %s (%s): mapping a BAR through sysfs needs root", name(),
                        path, std::strerror(err)));
  }
  Fd owned(sys_, fd);
  const off_t size = sys_->file_size(fd);
  if (size <= 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: BAR %d is empty (%s has size %d): the BAR is not assigned; check "
                        "`lspci -vs %s` and dmesg",
                        name(), index, path, static_cast<long>(size), name()));
  }
  void* base = sys_->mmap(size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: mmap of %s (%d bytes) failed: %s; the kernel refuses to map a BAR that "
        "a driver uses or that is not memory space",
        name(), path, static_cast<long>(size), std::strerror(errno)));
  }
  auto sys = sys_;
  const size_t len = static_cast<size_t>(size);
  return std::make_unique<MappedBar>(base, len, [sys, base, len, fd = std::move(owned)]() mutable {
    sys->munmap(base, len);
    fd.reset();
  });
}

}  // namespace safenic::pci
