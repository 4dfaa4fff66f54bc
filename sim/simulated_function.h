// SimulatedFunction: a PciFunction whose BARs are a DeviceModel and whose DMA
// memory is mapped through the simulation's checked Iommu. Give it to
// open_device() exactly as a hardware function would be.
#pragma once

#include <array>
#include <memory>
#include <string>

#include "nic/bar.h"
#include "nic/pci_function.h"
#include "sim/model.h"

namespace safenic::sim {

// Forwards each access to the model after checking it is inside the BAR and
// naturally aligned; a bad access is a reported violation and reads all ones
// (what a PCI read that nothing claims returns). Holds the context's lock
// (SimContext::serial), if any, for the access and the device work it triggers.
class SimulatedBar final : public Bar {
 public:
  SimulatedBar(DeviceModel& model, int index, ViolationLog& log, std::mutex* serial = nullptr)
      : model_(model), index_(index), size_(model.bar_size(index)), log_(log), serial_(serial) {}

  uint8_t read8(uint32_t off) override { return static_cast<uint8_t>(read(off, 1)); }
  uint16_t read16(uint32_t off) override { return static_cast<uint16_t>(read(off, 2)); }
  uint32_t read32(uint32_t off) override { return static_cast<uint32_t>(read(off, 4)); }
  uint64_t read64(uint32_t off) override { return read(off, 8); }
  void write8(uint32_t off, uint8_t v) override { write(off, 1, v); }
  void write16(uint32_t off, uint16_t v) override { write(off, 2, v); }
  void write32(uint32_t off, uint32_t v) override { write(off, 4, v); }
  void write64(uint32_t off, uint64_t v) override { write(off, 8, v); }
  size_t size() const override { return size_; }

 private:
  bool valid(uint32_t off, unsigned width, const char* op);
  uint64_t read(uint32_t off, unsigned width) {
    SimLock lock(serial_);
    if (!valid(off, width, "read")) return ~uint64_t{0} >> (64 - 8 * width);
    return model_.mmio_read(index_, off, width);
  }
  void write(uint32_t off, unsigned width, uint64_t v) {
    SimLock lock(serial_);
    if (valid(off, width, "write")) model_.mmio_write(index_, off, width, v);
  }

  DeviceModel& model_;
  int index_;
  size_t size_;
  ViolationLog& log_;
  std::mutex* serial_;
};

class SimulatedFunction final : public PciFunction {
 public:
  SimulatedFunction(std::shared_ptr<DeviceModel> model, SimContext context, std::string name);

  std::string name() const override { return name_; }
  PciId id() const override { return model_->id(); }
  absl::StatusOr<Bar*> bar(int index) override;
  absl::StatusOr<uint32_t> config_read32(uint32_t offset) override;
  const DmaAllocator& dma() const override { return dma_; }
  absl::Time now() override {
    SimLock lock(context_);
    return context_.clock->now();
  }
  void sleep(absl::Duration d) override;

  DeviceModel& model() { return *model_; }
  const SimContext& context() const { return context_; }

 private:
  std::shared_ptr<DeviceModel> model_;
  SimContext context_;
  std::string name_;
  DmaAllocator dma_;
  std::array<std::unique_ptr<SimulatedBar>, 6> bars_;
};

}  // namespace safenic::sim
