#include "nic/pci/vfio_function.h"

#include "mem/status.h"
#include "nic/pci/port_bar.h"

#include <linux/vfio.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace safenic::pci {
namespace {

absl::StatusOr<vfio_region_info> region_info(Syscalls& sys, int fd, uint32_t index,
                                             absl::string_view device) {
  vfio_region_info info = {};
  info.argsz = sizeof info;
  info.index = index;
  if (sys.ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &info) != 0) {
    return absl::UnavailableError(
        absl::StrFormat("%s: VFIO_DEVICE_GET_REGION_INFO for region %d failed: %s", device, index,
                        std::strerror(errno)));
  }
  return info;
}

}  // namespace

VfioFunction::VfioFunction(const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container,
                           Fd device_fd, Backing dma)
    : HostFunction(device, DmaAllocator(dma, std::make_shared<VfioMapper>(container))),
      container_(std::move(container)),
      device_fd_(std::move(device_fd)) {}

absl::StatusOr<std::unique_ptr<VfioFunction>> VfioFunction::open(
    const PciDeviceInfo& device, std::shared_ptr<VfioContainer> container, Backing dma) {
  if (device.iommu_group < 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has no IOMMU group, so VFIO cannot take it: boot with the IOMMU on "
        "(intel_iommu=on or amd_iommu=on, and iommu=pt), or unbind it from vfio-pci and "
        "use the sysfs path as root",
        device.address));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto fd, container->open_device(device.iommu_group, device.address));
  auto fn = std::unique_ptr<VfioFunction>(
      new VfioFunction(device, std::move(container), std::move(fd), dma));
  Syscalls& sys = *fn->container_->sys();
  SAFENIC_ASSIGN_OR_RETURN(auto config, region_info(sys, fn->device_fd_.get(),
                                                    VFIO_PCI_CONFIG_REGION_INDEX, device.address));
  fn->config_ = ConfigSpace(fn->container_->sys(), fn->device_fd_.get(),
                            static_cast<off_t>(config.offset), device.address);
  SAFENIC_RETURN_IF_ERROR(fn->start());
  fn->watch_device_requests();
  return fn;
}

VfioFunction::~VfioFunction() {
  if (watcher_.joinable()) {
    const uint64_t one = 1;
    while (::write(stop_fd_, &one, sizeof one) != sizeof one && errno == EINTR) {
    }
    watcher_.join();
  }
  if (request_fd_ >= 0) ::close(request_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  unmap_bars();  // before device_fd_ closes
}

void VfioFunction::watch_device_requests() {
  Syscalls& sys = *container_->sys();
  vfio_irq_info irq = {};
  irq.argsz = sizeof irq;
  irq.index = VFIO_PCI_REQ_IRQ_INDEX;
  if (sys.ioctl(device_fd_.get(), VFIO_DEVICE_GET_IRQ_INFO, &irq) != 0 || irq.count < 1) return;
  request_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (request_fd_ < 0 || stop_fd_ < 0) return;
  alignas(vfio_irq_set) uint8_t buffer[sizeof(vfio_irq_set) + sizeof(int32_t)] = {};
  auto* set = reinterpret_cast<vfio_irq_set*>(buffer);
  set->argsz = sizeof buffer;
  set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
  set->index = VFIO_PCI_REQ_IRQ_INDEX;
  set->start = 0;
  set->count = 1;
  const int32_t fd = request_fd_;
  std::memcpy(set->data, &fd, sizeof fd);
  if (sys.ioctl(device_fd_.get(), VFIO_DEVICE_SET_IRQS, set) != 0) return;
  watcher_ = std::thread([this] {
    pollfd fds[2] = {{request_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    while (::poll(fds, 2, -1) >= 0 || errno == EINTR) {
      if (fds[1].revents & POLLIN) return;
      if (fds[0].revents & POLLIN) {
        request_removal();
        return;
      }
    }
  });
}

absl::StatusOr<std::unique_ptr<Bar>> VfioFunction::map_bar(int index) {
  const auto sys = container_->sys();
  SAFENIC_ASSIGN_OR_RETURN(
      auto info, region_info(*sys, device_fd_.get(), VFIO_PCI_BAR0_REGION_INDEX + index, name()));
  if (info.size == 0) {
    return absl::NotFoundError(
        absl::StrFormat("%s: has no BAR %d (VFIO reports an empty region)", name(), index));
  }
  if ((info.flags & VFIO_REGION_INFO_FLAG_MMAP) == 0) {
    // I/O port space (or a BAR smaller than a page): VFIO serves it through
    // pread and pwrite on the device fd at the region's offset.
    const uint32_t rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    if ((info.flags & rw) != rw) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: BAR %d can be neither mapped nor read and written through VFIO", name(), index));
    }
    return std::make_unique<PortBar>(sys, device_fd_.get(), static_cast<off_t>(info.offset),
                                     info.size);
  }
  void* base = sys->mmap(info.size, PROT_READ | PROT_WRITE, MAP_SHARED, device_fd_.get(),
                         static_cast<off_t>(info.offset));
  if (base == MAP_FAILED) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: mmap of BAR %d (%d bytes) through VFIO failed: %s", name(), index,
                        info.size, std::strerror(errno)));
  }
  const size_t len = info.size;
  return std::make_unique<MappedBar>(base, len, [sys, base, len] { sys->munmap(base, len); });
}

}  // namespace safenic::pci
