#pragma once

#include "sim/model.h"
#include "tests/testdev/layout.h"

namespace safenic::testdev {

class DmaCopyModel final : public sim::DeviceModel {
 public:
  explicit DmaCopyModel(sim::SimContext ctx) : ctx_(std::move(ctx)) {}
  PciId id() const override { return {kVendor, kDevice}; }
  size_t bar_size(int bar) const override { return bar == 0 ? kBarSize : 0; }
  uint64_t mmio_read(int bar, uint32_t off, unsigned width) override;
  void mmio_write(int bar, uint32_t off, unsigned width, uint64_t v) override;

  uint64_t copies() const { return copies_; }

 private:
  void process(uint32_t tail);

  sim::SimContext ctx_;
  uint32_t ctrl_ = 0, size_ = 0, head_ = 0, errors_ = 0, be_scratch_ = 0;
  uint64_t base_ = 0, copies_ = 0;
};

}  // namespace safenic::testdev
