#include "nic/pci/config_space.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::pci {

absl::Status ConfigSpace::check_offset(uint32_t offset, uint32_t width) const {
  if (offset % width != 0 || offset + width > kConfigSpaceSize) {
    return absl::OutOfRangeError(
        absl::StrFormat("%s: config space offset 0x%x is misaligned for %d bytes or past 4 KiB",
                        device_, offset, width));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ConfigSpace::read32(uint32_t offset) const {
  SAFENIC_RETURN_IF_ERROR(check_offset(offset, 4));
  uint32_t v = 0;  // config space is little-endian, like the hosts we run on
  errno = 0;
  if (sys_->pread(fd_, &v, 4, base_ + offset) != 4) {
    return absl::UnavailableError(
        absl::StrFormat("%s: cannot read config space at 0x%x: %s", device_, offset,
                        errno != 0 ? std::strerror(errno) : "short read"));
  }
  return v;
}

absl::StatusOr<uint16_t> ConfigSpace::read16(uint32_t offset) const {
  SAFENIC_RETURN_IF_ERROR(check_offset(offset, 2));
  uint16_t v = 0;
  errno = 0;
  if (sys_->pread(fd_, &v, 2, base_ + offset) != 2) {
    return absl::UnavailableError(
        absl::StrFormat("%s: cannot read config space at 0x%x: %s", device_, offset,
                        errno != 0 ? std::strerror(errno) : "short read"));
  }
  return v;
}

absl::Status ConfigSpace::write16(uint32_t offset, uint16_t value) const {
  SAFENIC_RETURN_IF_ERROR(check_offset(offset, 2));
  if (sys_->pwrite(fd_, &value, 2, base_ + offset) != 2) {
    return absl::PermissionDeniedError(
        absl::StrFormat("%s: cannot write config space at 0x%x: %s; writing it needs root (sysfs) "
                        "or the device's VFIO group",
                        device_, offset, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ConfigSpace::enable_bus_master() const {
  SAFENIC_ASSIGN_OR_RETURN(auto command, read16(kCommandOffset));
  const uint16_t want = command | kCommandMemorySpace | kCommandBusMaster;
  if (want == command) return absl::OkStatus();
  return write16(kCommandOffset, want);
}

absl::Status ConfigSpace::check_present() const {
  SAFENIC_ASSIGN_OR_RETURN(auto vendor, read16(kVendorIdOffset));
  if (vendor == 0xFFFF) {
    return absl::UnavailableError(
        absl::StrFormat("%s: config space reads all ones: the device is gone or powered off (a "
                        "surprise removal or a hung device); check `lspci -s %s` and dmesg",
                        device_, device_));
  }
  return absl::OkStatus();
}

}  // namespace safenic::pci
