#include "tests/testdev/nic_model.h"

#include <cstring>

#include "absl/strings/str_format.h"

namespace safenic::testnic {

TestNicModel::TestNicModel(sim::SimContext ctx, TestNicConfig config)
    : ctx_(std::move(ctx)), config_(config), port_(*this) {}

void TestNicModel::reset() {
  ctrl_ = 0;
  rx_ = tx_ = Ring{};
  rx_frames_ = rx_no_descriptor_ = rx_filtered_ = tx_frames_ = 0;
}

uint64_t TestNicModel::mmio_read(int, uint32_t off, unsigned width) {
  const auto& m = config_.mac.bytes;
  if (width != (off == RX::BASE::offset() || off == TX::BASE::offset() ? 8u : 4u)) {
    ctx_.log->report(absl::StrFormat("testnic: %d-byte read at %#x", width, off));
    return ~uint64_t{0};
  }
  switch (off) {
    case CTRL::offset(): return ctrl_;
    case STATUS::offset(): return port_.connected() ? STATUS::LINK_UP::kMask : 0;
    case MAC_LO::offset(): return uint32_t{m[0]} | m[1] << 8 | m[2] << 16 | uint32_t{m[3]} << 24;
    case MAC_HI::offset(): return uint32_t{m[4]} | m[5] << 8;
    case RX::BASE::offset(): return rx_.base;
    case RX::SIZE::offset(): return rx_.size;
    case RX::TAIL::offset(): return rx_.tail;
    case RX::HEAD::offset(): return rx_.head;
    case TX::BASE::offset(): return tx_.base;
    case TX::SIZE::offset(): return tx_.size;
    case TX::TAIL::offset(): return tx_.tail;
    case TX::HEAD::offset(): return tx_.head;
    case RX_FRAMES::offset(): return rx_frames_;
    case RX_NO_DESCRIPTOR::offset(): return rx_no_descriptor_;
    case RX_FILTERED::offset(): return rx_filtered_;
    case TX_FRAMES::offset(): return tx_frames_;
  }
  ctx_.log->report(absl::StrFormat("testnic: read of unmodelled register %#x", off));
  return ~uint64_t{0};
}

void TestNicModel::mmio_write(int, uint32_t off, unsigned width, uint64_t v) {
  if (width != (off == RX::BASE::offset() || off == TX::BASE::offset() ? 8u : 4u)) {
    ctx_.log->report(absl::StrFormat("testnic: %d-byte write at %#x", width, off));
    return;
  }
  // A ring's BASE and SIZE change only while the rings are stopped.
  auto stopped = [&](const char* what) {
    if (enabled())
      ctx_.log->report(
          absl::StrFormat("testnic: %s written while the rings run (CTRL.ENABLE)", what));
    return !enabled();
  };
  switch (off) {
    case CTRL::offset():
      if (v & CTRL::RESET::kMask) return reset();
      if ((v & CTRL::ENABLE::kMask) && !enabled()) {
        for (const Ring* r : {&rx_, &tx_}) {
          const bool pow2 = r->size != 0 && (r->size & (r->size - 1)) == 0 && r->size <= kMaxRing;
          if (!pow2 || r->base % 16 != 0) {
            ctx_.log->report(absl::StrFormat(
                "testnic: CTRL.ENABLE with a %s ring of %d descriptors at %#x (a power of two up "
                "to %d, 16-byte aligned)",
                r == &rx_ ? "RX" : "TX", r->size, r->base, kMaxRing));
            return;
          }
        }
      }
      ctrl_ = static_cast<uint32_t>(v) & (CTRL::ENABLE::kMask | CTRL::PROMISC::kMask);
      return;
    case RX::BASE::offset():
      if (stopped("RX BASE")) rx_.base = v;
      return;
    case RX::SIZE::offset():
      if (stopped("RX SIZE")) rx_.size = static_cast<uint32_t>(v);
      return;
    case TX::BASE::offset():
      if (stopped("TX BASE")) tx_.base = v;
      return;
    case TX::SIZE::offset():
      if (stopped("TX SIZE")) tx_.size = static_cast<uint32_t>(v);
      return;
    case RX::TAIL::offset(): return set_tail(rx_, v, "RX");
    case TX::TAIL::offset(): set_tail(tx_, v, "TX"); return transmit();
  }
  ctx_.log->report(
      absl::StrFormat("testnic: write of %#x to read-only or unmodelled register %#x", v, off));
}

void TestNicModel::set_tail(Ring& ring, uint64_t v, const char* name) {
  if (!enabled() || v >= ring.size) {
    ctx_.log->report(absl::StrFormat("testnic: %s TAIL=%d written while %s", name, v,
                                     !enabled() ? "the rings are stopped" : "beyond the ring"));
    return;
  }
  ring.tail = static_cast<uint32_t>(v);
}

// Sends every frame from HEAD to TAIL; a descriptor with a bad length or
// address is refused (ERROR, DONE) and reported.
void TestNicModel::transmit() {
  sim::Iommu& dma = *ctx_.iommu;
  for (; tx_.head != tx_.tail; tx_.head = (tx_.head + 1) & (tx_.size - 1)) {
    auto mem = dma.translate(tx_.base + uint64_t{tx_.head} * Desc::kSize, Desc::kSize,
                             "testnic TX descriptor");
    if (!mem.ok()) continue;  // reported by the IOMMU
    LayoutRef<Desc> d(mem->data());
    const uint32_t len = d.get<Desc::LEN>();
    bool ok = len >= 14 && len <= kMaxFrame;
    if (!ok) {
      ctx_.log->report(absl::StrFormat("testnic: TX descriptor %d: a frame of %d bytes (14 to %d)",
                                       tx_.head, len, kMaxFrame));
    }
    auto frame = ok ? dma.translate(d.get<Desc::ADDR>(), len, "testnic TX frame read") : mem;
    if (ok && frame.ok()) {
      port_.transmit({frame->data(), len});
      ++tx_frames_;
    } else {
      d.set<Desc::ERROR, 1>();
    }
    dma_write_barrier();
    d.set<Desc::DONE, 1>();
  }
}

void TestNicModel::receive(absl::Span<const uint8_t> frame) {
  if (!enabled() || frame.size() < 14) return;
  const bool broadcast = std::memcmp(frame.data(), "\xff\xff\xff\xff\xff\xff", 6) == 0;
  if (!(ctrl_ & CTRL::PROMISC::kMask) && !broadcast &&
      std::memcmp(frame.data(), config_.mac.bytes.data(), 6) != 0) {
    ++rx_filtered_;
    return;
  }
  if (rx_.head == rx_.tail) {
    ++rx_no_descriptor_;
    return;
  }
  auto mem = ctx_.iommu->translate(rx_.base + uint64_t{rx_.head} * Desc::kSize, Desc::kSize,
                                   "testnic RX descriptor");
  if (!mem.ok()) return;
  LayoutRef<Desc> d(mem->data());
  const uint32_t room = d.get<Desc::LEN>();
  auto buffer = ctx_.iommu->translate(d.get<Desc::ADDR>(), frame.size(), "testnic RX frame write");
  if (room < frame.size() || !buffer.ok()) {
    if (room < frame.size()) {
      ctx_.log->report(
          absl::StrFormat("testnic: RX descriptor %d: a %d-byte buffer for a %d-byte frame",
                          rx_.head, room, frame.size()));
    }
    d.set<Desc::ERROR, 1>();
  } else {
    std::memcpy(buffer->data(), frame.data(), frame.size());
    d.set<Desc::LEN>(static_cast<uint32_t>(frame.size()));
    ++rx_frames_;
  }
  dma_write_barrier();
  d.set<Desc::DONE, 1>();
  rx_.head = (rx_.head + 1) & (rx_.size - 1);
}

std::map<std::string, uint64_t> TestNicModel::dropped_frames() const {
  std::map<std::string, uint64_t> out;
  if (rx_no_descriptor_ != 0) out["rx_no_descriptor"] = rx_no_descriptor_;
  if (rx_filtered_ != 0) out["rx_filtered"] = rx_filtered_;
  return out;
}

}  // namespace safenic::testnic
