#include "sim/vfio/emulated_vfio.h"

#include <linux/vfio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace safenic::sim {

namespace {

constexpr uint64_t kPage = 4096;
constexpr int kRegionShift = 40;  // a region's offset in the device fd: index << 40

int fail(int err) {
  errno = err;
  return -1;
}

// Linux's ioctl handlers check argsz against the structure's size up to its
// last field (vfio.h: "argsz" of each request).
template <typename T>
bool too_small(const T* p, size_t minimum) {
  return p == nullptr || p->argsz < minimum;
}

}  // namespace

// A function, and the eventfds the program gave for its interrupts.
struct EmulatedVfio::Device : EmulatedFunction {
  using EmulatedFunction::EmulatedFunction;
  std::map<uint32_t, std::vector<int>> irqs;  // index -> eventfds (-1: none)
};

EmulatedVfio::EmulatedVfio(SimContext context, std::vector<EmulatedPciDevice> devices,
                           std::string vfio_dir)
    : context_(std::move(context)), vfio_dir_(std::move(vfio_dir)) {
  for (EmulatedPciDevice& spec : devices) {
    devices_.push_back(std::make_unique<Device>(std::move(spec), context_));
  }
}

EmulatedVfio::~EmulatedVfio() {
  mappings_ = BarMappings();
  for (const auto& [fd, o] : fds_) ::close(fd);
}

int EmulatedVfio::new_fd(Open o) {
  const int fd = eventfd(0, EFD_CLOEXEC);
  if (fd < 0) return -1;
  fds_.emplace(fd, std::move(o));
  return fd;
}

int EmulatedVfio::open(const char* path, int flags) {
  const absl::string_view p(path);
  const std::string prefix = vfio_dir_ + "/";
  if (!absl::StartsWith(p, prefix)) return kNotMine;
  const absl::string_view name = p.substr(prefix.size());
  if (name == "vfio") return new_fd(Open(Kind::kContainer));
  int group = -1;
  if (!absl::SimpleAtoi(name, &group)) return fail(ENOENT);
  for (const auto& d : devices_) {
    if (d->spec().iommu_group != group) continue;
    // The kernel lets one process hold a group open once.
    for (const auto& [fd, o] : fds_) {
      if (o.kind == Kind::kGroup && o.group == group) return fail(EBUSY);
    }
    return new_fd(Open(Kind::kGroup, group));
  }
  return fail(ENOENT);
}

bool EmulatedVfio::exists(const char* path) const {
  const absl::string_view p(path);
  const std::string prefix = vfio_dir_ + "/";
  if (!absl::StartsWith(p, prefix)) return false;
  const absl::string_view name = p.substr(prefix.size());
  int group = -1;
  if (name == "vfio") return true;
  if (!absl::SimpleAtoi(name, &group)) return false;
  for (const auto& d : devices_) {
    if (d->spec().iommu_group == group) return true;
  }
  return false;
}

int EmulatedVfio::close(int fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail(EBADF);
  if (it->second.kind == Kind::kContainer) {
    // Closing the container tears its IOMMU down, mappings and all, and its
    // groups leave it.
    SimLock lock(context_);
    for (const auto& [iova, size] : it->second.dma) context_.iommu->unmap(iova, size);
    for (auto& [other, o] : fds_) {
      if (o.kind == Kind::kGroup && o.container == fd) o.container = -1;
    }
  }
  if (it->second.kind == Kind::kGroup && it->second.container >= 0) {
    SimLock lock(context_);
    leave_container(it->second);
  }
  fds_.erase(it);
  return ::close(fd);
}

// A group leaves its container. The last group out takes the container's
// IOMMU with it, mappings and all (the kernel's __vfio_container_detach_group):
// the next group to join sets it again.
void EmulatedVfio::leave_container(Open& group) {
  auto c = fds_.find(group.container);
  group.container = -1;
  if (c == fds_.end()) return;
  for (const auto& [fd, o] : fds_) {
    if (o.kind == Kind::kGroup && o.container == c->first) return;
  }
  for (const auto& [iova, size] : c->second.dma) context_.iommu->unmap(iova, size);
  c->second.dma.clear();
  c->second.iommu_type = 0;
}

int EmulatedVfio::ioctl(int fd, unsigned long request, uintptr_t arg) {
  SimLock lock(context_);
  auto it = fds_.find(fd);
  if (it == fds_.end()) return fail(EBADF);
  Open& o = it->second;
  switch (o.kind) {
    case Kind::kContainer: return container_ioctl(fd, o, request, arg);
    case Kind::kGroup: return group_ioctl(o, request, arg);
    case Kind::kDevice: return device_ioctl(*o.device, request, arg);
  }
  return fail(ENOTTY);
}

// Container ioctls: vfio.h "IOCTLs for VFIO file descriptor (/dev/vfio/vfio)"
// and the type-1 IOMMU's.
int EmulatedVfio::container_ioctl(int fd, Open& o, unsigned long request, uintptr_t arg) {
  const bool iommu_set = o.iommu_type != 0;
  switch (request) {
    case VFIO_GET_API_VERSION: return VFIO_API_VERSION;
    case VFIO_CHECK_EXTENSION: return arg == VFIO_TYPE1_IOMMU || arg == VFIO_TYPE1v2_IOMMU ? 1 : 0;
    case VFIO_SET_IOMMU: {
      bool has_group = false;
      for (const auto& [other, g] : fds_) has_group |= g.kind == Kind::kGroup && g.container == fd;
      if (!has_group || iommu_set) return fail(EINVAL);  // a group first, and only once
      if (arg != VFIO_TYPE1_IOMMU && arg != VFIO_TYPE1v2_IOMMU) return fail(EINVAL);
      o.iommu_type = static_cast<int>(arg);
      return 0;
    }
    case VFIO_IOMMU_GET_INFO: {
      auto* info = reinterpret_cast<vfio_iommu_type1_info*>(arg);
      if (!iommu_set) return fail(EINVAL);
      if (too_small(info,
                    offsetof(vfio_iommu_type1_info, iova_pgsizes) + sizeof info->iova_pgsizes)) {
        return fail(EINVAL);
      }
      // The IOVAs map_at() accepts: all but the simulator's own space.
      const vfio_iova_range ranges[2] = {
          {.start = kPage, .end = Iommu::kIovaBase - 1},
          {.start = Iommu::kIovaBase + Iommu::kReservedIovas, .end = (uint64_t{1} << 48) - 1}};
      const size_t caps = sizeof(vfio_iommu_type1_info_cap_iova_range) + sizeof ranges;
      const size_t needed = sizeof(vfio_iommu_type1_info) + caps;
      info->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
      info->iova_pgsizes = kPage | (uint64_t{2} << 20) | (uint64_t{1} << 30);
      if (info->argsz < needed) {  // the kernel says how much room the capabilities need
        info->argsz = static_cast<uint32_t>(needed);
        info->cap_offset = 0;
        return 0;
      }
      info->cap_offset = sizeof(vfio_iommu_type1_info);
      auto* cap = reinterpret_cast<vfio_iommu_type1_info_cap_iova_range*>(
          reinterpret_cast<uint8_t*>(info) + info->cap_offset);
      cap->header = {.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, .version = 1, .next = 0};
      cap->nr_iovas = 2;
      std::memcpy(cap->iova_ranges, ranges, sizeof ranges);
      return 0;
    }
    case VFIO_IOMMU_MAP_DMA: {
      auto* map = reinterpret_cast<vfio_iommu_type1_dma_map*>(arg);
      if (!iommu_set || too_small(map, sizeof *map)) return fail(EINVAL);
      if (map->size == 0 || (map->iova | map->vaddr | map->size) % kPage != 0) return fail(EINVAL);
      const absl::Status s = context_.iommu->map_at(map->iova, reinterpret_cast<void*>(map->vaddr),
                                                    map->size, "VFIO_IOMMU_MAP_DMA");
      if (!s.ok()) return fail(s.code() == absl::StatusCode::kAlreadyExists ? EEXIST : EINVAL);
      o.dma[map->iova] = map->size;
      return 0;
    }
    case VFIO_IOMMU_UNMAP_DMA: {
      // Unmaps the mappings that lie wholly inside [iova, iova + size) and
      // says how many bytes that was.
      auto* unmap = reinterpret_cast<vfio_iommu_type1_dma_unmap*>(arg);
      if (!iommu_set || too_small(unmap, sizeof *unmap)) return fail(EINVAL);
      uint64_t unmapped = 0;
      for (auto i = o.dma.lower_bound(unmap->iova);
           i != o.dma.end() && i->first + i->second <= unmap->iova + unmap->size;) {
        context_.iommu->unmap(i->first, i->second);
        unmapped += i->second;
        i = o.dma.erase(i);
      }
      unmap->size = unmapped;
      return 0;
    }
    default: return fail(ENOTTY);
  }
}

// Group ioctls: vfio.h "IOCTLs for GROUPs".
int EmulatedVfio::group_ioctl(Open& o, unsigned long request, uintptr_t arg) {
  switch (request) {
    case VFIO_GROUP_GET_STATUS: {
      auto* status = reinterpret_cast<vfio_group_status*>(arg);
      if (too_small(status, sizeof *status)) return fail(EINVAL);
      status->flags =
          VFIO_GROUP_FLAGS_VIABLE | (o.container >= 0 ? VFIO_GROUP_FLAGS_CONTAINER_SET : 0);
      return 0;
    }
    case VFIO_GROUP_SET_CONTAINER: {
      const int* container = reinterpret_cast<const int*>(arg);
      if (container == nullptr) return fail(EFAULT);
      auto c = fds_.find(*container);
      if (c == fds_.end() || c->second.kind != Kind::kContainer) return fail(EBADF);
      if (o.container >= 0) return fail(EINVAL);
      o.container = *container;
      return 0;
    }
    case VFIO_GROUP_UNSET_CONTAINER:
      if (o.container < 0) return fail(EINVAL);
      leave_container(o);
      return 0;
    case VFIO_GROUP_GET_DEVICE_FD: {
      const char* name = reinterpret_cast<const char*>(arg);
      if (name == nullptr) return fail(EFAULT);
      auto container = fds_.find(o.container);
      if (container == fds_.end() || container->second.iommu_type == 0)
        return fail(EINVAL);  // container and IOMMU first
      for (const auto& d : devices_) {
        if (d->spec().iommu_group == o.group && d->spec().address == name) {
          return new_fd(Open(Kind::kDevice, -1, d.get()));
        }
      }
      return fail(ENODEV);
    }
    default: return fail(ENOTTY);
  }
}

// Device ioctls: vfio.h "IOCTLs for DEVICEs", vfio-pci's regions and IRQs.
int EmulatedVfio::device_ioctl(Device& d, unsigned long request, uintptr_t arg) {
  switch (request) {
    case VFIO_DEVICE_GET_INFO: {
      auto* info = reinterpret_cast<vfio_device_info*>(arg);
      if (too_small(info, offsetof(vfio_device_info, num_irqs) + sizeof info->num_irqs))
        return fail(EINVAL);
      info->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
      info->num_regions = VFIO_PCI_NUM_REGIONS;
      info->num_irqs = VFIO_PCI_NUM_IRQS;
      return 0;
    }
    case VFIO_DEVICE_GET_REGION_INFO: {
      auto* info = reinterpret_cast<vfio_region_info*>(arg);
      if (too_small(info, offsetof(vfio_region_info, offset) + sizeof info->offset))
        return fail(EINVAL);
      if (info->index >= VFIO_PCI_NUM_REGIONS) return fail(EINVAL);
      info->offset = uint64_t{info->index} << kRegionShift;
      info->flags = 0;
      info->size = 0;
      info->cap_offset = 0;
      if (info->index <= VFIO_PCI_BAR5_REGION_INDEX) {
        const int bar = static_cast<int>(info->index);
        info->size = d.bar_size(bar);
        if (info->size != 0) {
          info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                        (d.io_bar(bar) ? 0 : VFIO_REGION_INFO_FLAG_MMAP);
        }
      } else if (info->index == VFIO_PCI_CONFIG_REGION_INDEX) {
        info->size = EmulatedFunction::kConfigSize;
        info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
      }
      return 0;
    }
    case VFIO_DEVICE_GET_IRQ_INFO: {
      auto* info = reinterpret_cast<vfio_irq_info*>(arg);
      if (too_small(info, sizeof *info) || info->index >= VFIO_PCI_NUM_IRQS) return fail(EINVAL);
      info->flags = VFIO_IRQ_INFO_EVENTFD;
      switch (info->index) {
        case VFIO_PCI_INTX_IRQ_INDEX:
          info->count = 1;
          info->flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
          break;
        case VFIO_PCI_MSIX_IRQ_INDEX:
          info->count = d.msix_vectors();
          info->flags |= VFIO_IRQ_INFO_NORESIZE;
          break;
        case VFIO_PCI_ERR_IRQ_INDEX:
        case VFIO_PCI_REQ_IRQ_INDEX: info->count = 1; break;
        default:  // MSI: the models offer MSI-X
          info->count = 0;
      }
      return 0;
    }
    case VFIO_DEVICE_SET_IRQS: {
      auto* set = reinterpret_cast<vfio_irq_set*>(arg);
      if (too_small(set, sizeof *set) || set->index >= VFIO_PCI_NUM_IRQS) return fail(EINVAL);
      std::vector<int>& fds = d.irqs[set->index];
      if ((set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) == VFIO_IRQ_SET_DATA_EVENTFD &&
          (set->flags & VFIO_IRQ_SET_ACTION_TRIGGER)) {
        if (set->argsz < sizeof *set + set->count * sizeof(int32_t)) return fail(EINVAL);
        const auto* data = reinterpret_cast<const int32_t*>(set->data);
        if (fds.size() < set->start + set->count) fds.resize(set->start + set->count, -1);
        for (uint32_t i = 0; i < set->count; ++i) fds[set->start + i] = data[i];
      } else if ((set->flags & VFIO_IRQ_SET_DATA_TYPE_MASK) == VFIO_IRQ_SET_DATA_NONE &&
                 set->count == 0 && (set->flags & VFIO_IRQ_SET_ACTION_TRIGGER)) {
        fds.clear();  // all of the index's interrupts off
      }
      return 0;  // masking and unmasking change nothing: the models raise none yet
    }
    case VFIO_DEVICE_RESET:
      return 0;  // no function-level reset modelled: the drivers reset through registers
    default: return fail(ENOTTY);
  }
}

void* EmulatedVfio::mmap(void* addr, size_t len, int /*prot*/, int flags, int fd, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kDevice) return (errno = EINVAL), MAP_FAILED;
  const uint64_t index = static_cast<uint64_t>(offset) >> kRegionShift;
  const uint64_t within = static_cast<uint64_t>(offset) & ((uint64_t{1} << kRegionShift) - 1);
  if (index > VFIO_PCI_BAR5_REGION_INDEX) return (errno = EINVAL), MAP_FAILED;
  return mappings_.map(*it->second.device, static_cast<int>(index), addr, len, flags, within);
}

int EmulatedVfio::munmap(void* addr, size_t len) { return mappings_.unmap(addr, len); }

ssize_t EmulatedVfio::pread(int fd, void* buf, size_t len, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kDevice) return fail(EINVAL);
  return region_access(*it->second.device, Transfer::read_into(buf, len), offset);
}

ssize_t EmulatedVfio::pwrite(int fd, const void* buf, size_t len, off_t offset) {
  auto it = fds_.find(fd);
  if (it == fds_.end() || it->second.kind != Kind::kDevice) return fail(EINVAL);
  return region_access(*it->second.device, Transfer::write_from(buf, len), offset);
}

// pread/pwrite on a region: the configuration space or a BAR.
ssize_t EmulatedVfio::region_access(Device& d, Transfer t, off_t offset) {
  const uint64_t index = static_cast<uint64_t>(offset) >> kRegionShift;
  const uint64_t at = static_cast<uint64_t>(offset) & ((uint64_t{1} << kRegionShift) - 1);
  if (index == VFIO_PCI_CONFIG_REGION_INDEX) return d.config_access(t, at);
  if (index > VFIO_PCI_BAR5_REGION_INDEX) return fail(EINVAL);
  return d.bar_access(static_cast<int>(index), t, at);
}

}  // namespace safenic::sim
