#include "tests/testdev/driver.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace safenic::testdev {

absl::StatusOr<std::unique_ptr<DmaCopyDriver>> DmaCopyDriver::open(PciFunction& fn,
                                                                   uint32_t ring_size) {
  auto bar = fn.bar(0);
  if (!bar.ok()) return bar.status();
  const uint32_t id = (*bar)->read<ID>().raw();
  if (id != kMagic) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: ID register reads %#x, expected %#x", fn.name(), id, kMagic));
  }
  auto ring = fn.dma().allocate(size_t{ring_size} * CopyDesc::kSize, "dmacopy ring");
  if (!ring.ok()) return ring.status();
  Bar& b = **bar;
  b.write(RegisterValue<CTRL>().set<CTRL::RESET>());
  b.write(RegisterValue<RING_BASE>(ring->iova()));
  b.write(RegisterValue<RING_SIZE>(ring_size));
  b.modify<CTRL>([](RegisterValue<CTRL>& v) { v.set<CTRL::ENABLE>(); });
  return std::unique_ptr<DmaCopyDriver>(new DmaCopyDriver(&b, *std::move(ring), ring_size));
}

uint32_t DmaCopyDriver::queue(const Packet& src, Packet& dst) {
  (void)dst.resize(src.size());
  return queue_iova(src.iova(), dst.iova(), static_cast<uint32_t>(src.size()));
}

uint32_t DmaCopyDriver::queue_iova(uint64_t src, uint64_t dst, uint32_t len) {
  const uint32_t i = tail_;
  LayoutRef<CopyDesc> d = desc(i);
  d.zero();
  d.set<CopyDesc::SRC>(src).set<CopyDesc::DST>(dst).set<CopyDesc::LEN>(len);
  tail_ = (tail_ + 1) % size_;
  return i;
}

void DmaCopyDriver::ring() {
  bar_->write(RegisterValue<TAIL>(tail_));  // MappedBar/SimulatedBar order it
}

bool DmaCopyDriver::done(uint32_t i) const { return desc(i).is_set<CopyDesc::DONE>(); }
bool DmaCopyDriver::failed(uint32_t i) const { return desc(i).is_set<CopyDesc::ERROR>(); }

}  // namespace safenic::testdev
