#include "nic/pci/vfio.h"

#include <algorithm>

#include <fcntl.h>
#include <linux/vfio.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::pci {
namespace {

absl::StatusOr<Fd> open_container(const std::shared_ptr<Syscalls>& sys, const std::string& dir) {
  const std::string path = dir + "/vfio";
  const int fd = sys->open(path.c_str(), O_RDWR);
  if (fd < 0) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      return absl::PermissionDeniedError(absl::StrFormat(
          "cannot open %s (%s): run as root, or give your user the device's group file "
          "(sudo chown $USER %s/<group>)",
          path, std::strerror(err), dir));
    }
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot open %s (%s): VFIO is not available; load it with `sudo modprobe "
        "vfio-pci`, and boot with the IOMMU on (intel_iommu=on or amd_iommu=on) so "
        "devices get IOMMU groups; or unbind the device and use the sysfs path as root",
        path, std::strerror(err)));
  }
  Fd container(sys, fd);
  // vfio.rst: "Unknown API version" is the first thing to rule out.
  const int version = sys->ioctl_value(fd, VFIO_GET_API_VERSION, 0);
  if (version != VFIO_API_VERSION) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s speaks VFIO API version %d; safenic needs %d: this kernel is too old or "
        "too new for it",
        path, version, VFIO_API_VERSION));
  }
  if (sys->ioctl_value(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s offers no type-1 IOMMU: load it with `sudo modprobe vfio_iommu_type1`, "
                        "and check the IOMMU is on (dmesg | grep -i -e DMAR -e IOMMU)",
                        path));
  }
  return container;
}

}  // namespace

absl::StatusOr<std::shared_ptr<VfioContainer>> VfioContainer::shared(std::shared_ptr<Syscalls> sys,
                                                                     const std::string& vfio_dir) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* containers =
      new std::map<std::pair<Syscalls*, std::string>, std::weak_ptr<VfioContainer>>();
  absl::MutexLock lock(&mu);
  std::weak_ptr<VfioContainer>& slot = (*containers)[{sys.get(), vfio_dir}];
  if (std::shared_ptr<VfioContainer> live = slot.lock()) return live;
  SAFENIC_ASSIGN_OR_RETURN(auto fd, open_container(sys, vfio_dir));
  auto container = std::make_shared<VfioContainer>(sys, vfio_dir, std::move(fd));
  slot = container;
  return container;
}

absl::StatusOr<int> VfioContainer::group_fd(int group, absl::string_view address) {
  if (auto it = groups_.find(group); it != groups_.end()) return it->second.get();
  const std::string path = absl::StrCat(dir_, "/", group);
  const int fd = sys_->open(path.c_str(), O_RDWR);
  if (fd < 0) {
    const int err = errno;
    switch (err) {
      case ENOENT:
        return absl::FailedPreconditionError(
            absl::StrFormat("%s: no %s: is the device bound to vfio-pci? (readlink "
                            "/sys/bus/pci/devices/%s/driver)",
                            address, path, address));
      case EBUSY:
        return absl::UnavailableError(absl::StrFormat(
            "%s: %s is busy: another process (a VM, another safenic program) has the "
            "device's IOMMU group open",
            address, path));
      case EACCES:
      case EPERM:
        return absl::PermissionDeniedError(
            absl::StrFormat("%s: cannot open %s (%s): run as root or `sudo chown $USER %s`",
                            address, path, std::strerror(err), path));
      default:
        return absl::UnavailableError(
            absl::StrFormat("%s: cannot open %s: %s", address, path, std::strerror(err)));
    }
  }
  Fd owned(sys_, fd);
  vfio_group_status status = {};
  status.argsz = sizeof status;
  if (sys_->ioctl(fd, VFIO_GROUP_GET_STATUS, &status) != 0) {
    return absl::UnavailableError(absl::StrFormat("%s: VFIO_GROUP_GET_STATUS on %s failed: %s",
                                                  address, path, std::strerror(errno)));
  }
  if ((status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: IOMMU group %d is not viable: every device in it must be bound to vfio-pci "
        "or to no driver; see `ls /sys/kernel/iommu_groups/%d/devices`",
        address, group, group));
  }
  int container_fd = fd_.get();
  if (sys_->ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container_fd) != 0) {
    return absl::UnavailableError(
        absl::StrFormat("%s: adding IOMMU group %d to the VFIO container failed: %s", address,
                        group, std::strerror(errno)));
  }
  if (!iommu_set_) {
    if (sys_->ioctl_value(fd_.get(), VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: VFIO_SET_IOMMU (type 1) failed: %s; check the IOMMU is on (dmesg | grep "
          "-i -e DMAR -e IOMMU)",
          address, std::strerror(errno)));
    }
    iommu_set_ = true;
    read_iova_ranges();
  }
  return groups_.emplace(group, std::move(owned)).first->second.get();
}

absl::StatusOr<Fd> VfioContainer::open_device(int group, absl::string_view address) {
  absl::MutexLock lock(&mu_);
  SAFENIC_ASSIGN_OR_RETURN(auto gfd, group_fd(group, address));
  const std::string name(address);
  const int fd = sys_->ioctl(gfd, VFIO_GROUP_GET_DEVICE_FD, const_cast<char*>(name.c_str()));
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: VFIO_GROUP_GET_DEVICE_FD failed (%s): is the device in IOMMU group %d and "
        "bound to vfio-pci? Is it already open?",
        address, std::strerror(errno), group));
  }
  return Fd(sys_, fd);
}

// VFIO_IOMMU_GET_INFO with its capability chain (linux/vfio.h): the IOVA
// ranges the IOMMU translates, reserved regions (the MSI window) left out.
void VfioContainer::read_iova_ranges() {
  alignas(8) uint8_t buffer[4096] = {};
  auto* info = reinterpret_cast<vfio_iommu_type1_info*>(buffer);
  info->argsz = sizeof buffer;
  iova_ranges_.clear();
  if (sys_->ioctl(fd_.get(), VFIO_IOMMU_GET_INFO, info) == 0 &&
      (info->flags & VFIO_IOMMU_INFO_CAPS) && info->argsz <= sizeof buffer) {
    for (uint32_t off = info->cap_offset;
         off != 0 && off + sizeof(vfio_info_cap_header) <= sizeof buffer;) {
      const auto* header = reinterpret_cast<const vfio_info_cap_header*>(buffer + off);
      if (header->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
          off + sizeof(vfio_iommu_type1_info_cap_iova_range) <= sizeof buffer) {
        const auto* cap = reinterpret_cast<const vfio_iommu_type1_info_cap_iova_range*>(header);
        for (uint32_t i = 0; i < cap->nr_iovas; ++i) {
          if (off + sizeof *cap + (i + 1) * sizeof(vfio_iova_range) > sizeof buffer) break;
          iova_ranges_.push_back({cap->iova_ranges[i].start, cap->iova_ranges[i].end});
        }
      }
      off = header->next;
    }
  }
  if (iova_ranges_.empty()) iova_ranges_.push_back({uint64_t{1} << 32, (uint64_t{1} << 39) - 1});
}

std::vector<VfioContainer::IovaRange> VfioContainer::iova_ranges() const {
  absl::MutexLock lock(&mu_);
  return iova_ranges_;
}

absl::StatusOr<uint64_t> VfioContainer::map_dma(void* va, size_t len, absl::string_view tag) {
  constexpr uint64_t kHuge = uint64_t{2} << 20, kPage = 4096;
  absl::MutexLock lock(&mu_);
  if (!iommu_set_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot map DMA region '%s': no device is open in the VFIO container yet", tag));
  }
  // First fit from the next free IOVA, in the first range with room; 1 MiB
  // and up (nothing at address 0 a bug could reach by accident).
  const uint64_t align = len % kHuge == 0 ? kHuge : kPage;
  uint64_t iova = 0;
  bool found = false;
  for (const IovaRange& r : iova_ranges_) {
    const uint64_t from = std::max({r.start, next_iova_, uint64_t{1} << 20});
    const uint64_t start = (from + align - 1) / align * align;
    if (start >= from && start <= r.end && len - 1 <= r.end - start) {
      iova = start;
      found = true;
      break;
    }
  }
  if (!found) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "cannot map DMA region '%s' (%d bytes): no room left in the IOMMU's IOVA ranges", tag,
        len));
  }
  vfio_iommu_type1_dma_map map = {};
  map.argsz = sizeof map;
  map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
  map.vaddr = reinterpret_cast<uint64_t>(va);
  map.iova = iova;
  map.size = len;
  if (sys_->ioctl(fd_.get(), VFIO_IOMMU_MAP_DMA, &map) != 0) {
    const int err = errno;
    if (err == ENOMEM || err == EPERM) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "VFIO cannot map DMA region '%s' (%d bytes): %s; VFIO pins mapped memory "
          "against the locked-memory limit: raise it (`ulimit -l unlimited`, or memlock "
          "in /etc/security/limits.conf) or run as root",
          tag, len, std::strerror(err)));
    }
    return absl::UnavailableError(absl::StrFormat(
        "VFIO_IOMMU_MAP_DMA of DMA region '%s' (%d bytes at %p to IOVA %#x) failed: %s", tag, len,
        va, iova, std::strerror(err)));
  }
  next_iova_ = iova + len;
  return iova;
}

void VfioContainer::unmap_dma(uint64_t iova, size_t len) {
  vfio_iommu_type1_dma_unmap unmap = {};
  unmap.argsz = sizeof unmap;
  unmap.iova = iova;
  unmap.size = len;
  sys_->ioctl(fd_.get(), VFIO_IOMMU_UNMAP_DMA, &unmap);  // nothing to do on failure
}

}  // namespace safenic::pci
