#include "tests/testdev/model.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace safenic::testdev {

uint64_t DmaCopyModel::mmio_read(int, uint32_t off, unsigned width) {
  switch (off) {
    case ID::offset(): return kMagic;
    case CTRL::offset(): return ctrl_;
    case RING_BASE::offset(): return base_;
    case RING_SIZE::offset(): return size_;
    case HEAD::offset(): return head_;
    case ERRORS::offset(): return std::exchange(errors_, 0);
    case BE_SCRATCH::offset(): return be_scratch_;
  }
  ctx_.log->report(absl::StrFormat("dmacopy: read of unmodelled register %#x", off));
  return ~uint64_t{0};
}

void DmaCopyModel::mmio_write(int, uint32_t off, unsigned width, uint64_t v) {
  switch (off) {
    case CTRL::offset():
      ctrl_ = static_cast<uint32_t>(v) & 1;  // RESET self-clears
      if (v & 2) head_ = 0, base_ = 0, size_ = 0;
      return;
    case RING_BASE::offset(): base_ = v; return;
    case RING_SIZE::offset(): size_ = static_cast<uint32_t>(v); return;
    case TAIL::offset(): process(static_cast<uint32_t>(v)); return;
    case BE_SCRATCH::offset(): be_scratch_ = static_cast<uint32_t>(v); return;
  }
  ctx_.log->report(
      absl::StrFormat("dmacopy: write of %#x to read-only or "
                      "unmodelled register %#x",
                      v, off));
}

void DmaCopyModel::process(uint32_t tail) {
  if ((ctrl_ & 1) == 0 || size_ == 0 || tail >= size_) {
    ctx_.log->report(absl::StrFormat("dmacopy: TAIL=%d written while %s", tail,
                                     (ctrl_ & 1) == 0 ? "disabled" : "beyond the ring"));
    return;
  }
  sim::Iommu& dma = *ctx_.iommu;
  for (; head_ != tail; head_ = (head_ + 1) % size_) {
    auto mem = dma.translate(base_ + uint64_t{head_} * CopyDesc::kSize, CopyDesc::kSize,
                             "descriptor fetch");
    if (!mem.ok()) {
      ++errors_;
      continue;
    }
    LayoutRef<CopyDesc> d(mem->data());
    const uint32_t len = d.get<CopyDesc::LEN>();
    auto src = dma.translate(d.get<CopyDesc::SRC>(), len, "copy source read");
    auto dst =
        src.ok() ? dma.translate(d.get<CopyDesc::DST>(), len, "copy destination write") : src;
    if (src.ok() && dst.ok()) {
      std::memmove(dst->data(), src->data(), len);
      ++copies_;
    } else {
      ++errors_;
      d.set<CopyDesc::ERROR, 1>();
    }
    dma_write_barrier();
    d.set<CopyDesc::DONE, 1>();
  }
}

}  // namespace safenic::testdev
