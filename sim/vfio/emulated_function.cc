#include "sim/vfio/emulated_function.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace safenic::sim {

namespace {

constexpr uint64_t kPage = 4096;
// PCI Local Bus spec 3.0, 6.2 (the header) and Appendix H (capability ids).
constexpr uint32_t kCommandOffset = 0x04;
constexpr uint32_t kCapabilityPointer = 0x34, kStatusCapabilityList = 1u << 20;
constexpr uint8_t kCapMsix = 0x11;

ssize_t fail(int err) {
  errno = err;
  return -1;
}

}  // namespace

EmulatedFunction::EmulatedFunction(EmulatedPciDevice spec, const SimContext& context)
    : spec_(std::move(spec)),
      function_(std::make_unique<SimulatedFunction>(spec_.model, context, spec_.address)) {}

uint32_t EmulatedFunction::config_dword(uint32_t offset) const {
  uint32_t v = spec_.model->config_read32(offset);
  if (offset == kCommandOffset) v = (v & 0xFFFF0000) | command_;
  return v;
}

uint32_t EmulatedFunction::msix_vectors() const {
  if (!(config_dword(kCommandOffset) & kStatusCapabilityList)) return 0;
  uint32_t at = config_dword(kCapabilityPointer) & 0xFC;
  for (int hops = 0; at != 0 && hops < 48; ++hops) {
    const uint32_t header = config_dword(at);
    if ((header & 0xFF) == kCapMsix) return ((header >> 16) & 0x7FF) + 1;
    at = (header >> 8) & 0xFC;
  }
  return 0;
}

ssize_t EmulatedFunction::config_access(Transfer t, uint64_t at) {
  if (at >= kConfigSize || t.len > kConfigSize - at) return fail(EINVAL);
  for (size_t i = 0; i < t.len; ++i) {
    const uint32_t o = static_cast<uint32_t>(at + i);
    if (t.write) {
      if (o == kCommandOffset) command_ = static_cast<uint16_t>((command_ & 0xFF00) | t.from[i]);
      if (o == kCommandOffset + 1)
        command_ = static_cast<uint16_t>((command_ & 0x00FF) | t.from[i] << 8);
    } else {
      t.into[i] = static_cast<uint8_t>(config_dword(o & ~3u) >> (8 * (o & 3)));
    }
  }
  return static_cast<ssize_t>(t.len);
}

ssize_t EmulatedFunction::bar_access(int index, Transfer t, uint64_t at) {
  const size_t len = t.len;
  if (len == 0) return fail(EINVAL);
  auto bar = function_->bar(index);
  if (!bar.ok()) return fail(EINVAL);
  ForwardToBar forward(**bar);  // (the SimulatedBar takes the simulation's lock)
  for (size_t done = 0; done < len;) {
    const uint64_t off = at + done;
    const size_t left = len - done;
    const unsigned width = left >= 4 && off % 4 == 0 ? 4 : left >= 2 && off % 2 == 0 ? 2 : 1;
    uint64_t v = 0;
    if (t.write) {
      std::memcpy(&v, t.from + done, width);
      forward.write(off, width, v);
    } else {
      v = forward.read(off, width);
      std::memcpy(t.into + done, &v, width);
    }
    done += width;
  }
  return static_cast<ssize_t>(len);
}

void* BarMappings::map(EmulatedFunction& f, int index, void* addr, size_t len, int flags,
                       uint64_t within) {
  if (index < 0 || index > 5 || within % kPage != 0 || f.io_bar(index)) {
    return (errno = EINVAL), MAP_FAILED;  // a memory BAR, in whole pages
  }
  auto bar = f.function().bar(index);
  if (!bar.ok() || within + len > ((*bar)->size() + kPage - 1) / kPage * kPage) {
    return (errno = EINVAL), MAP_FAILED;
  }
  Mapping m;
  m.forward = std::make_unique<ForwardToBar>(**bar);
  // MAP_FIXED: where the program asks (DPDK's VFIO path reserves a BAR's span
  // first, then maps its parts into it around the MSI-X table). Without it
  // the address is a hint, which DPDK's uio path needs honoured (it maps
  // each BAR just after the last and fails if it lands elsewhere).
  auto trap = TrappedMmio::create(len, *m.forward, absl::StrFormat("%s BAR%d", f.address(), index),
                                  addr, within,
                                  /*address_is_hint=*/(flags & MAP_FIXED) == 0);
  if (!trap.ok()) return (errno = ENOMEM), MAP_FAILED;
  m.trap = *std::move(trap);
  void* base = m.trap->base();
  mappings_[reinterpret_cast<uintptr_t>(base)] = std::move(m);
  return base;
}

int BarMappings::unmap(void* addr, size_t len) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(addr);
  int undone = 0;
  for (auto it = mappings_.lower_bound(begin); it != mappings_.end() && it->first < begin + len;) {
    unmapped_traps_ += it->second.trap->traps();
    it = mappings_.erase(it);
    ++undone;
  }
  return undone;
}

uint64_t BarMappings::trapped_accesses() const {
  uint64_t n = unmapped_traps_;
  for (const auto& [base, m] : mappings_) n += m.trap->traps();
  return n;
}

}  // namespace safenic::sim
