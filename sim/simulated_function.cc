#include "sim/simulated_function.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace safenic::sim {

bool SimulatedBar::valid(uint32_t off, unsigned width, const char* op) {
  if (off % width == 0 && off + uint64_t{width} <= size_) return true;
  log_.report(absl::StrFormat("MMIO %s of %d bytes at BAR%d offset %#x is %s (BAR size %#x)", op,
                              width, index_, off,
                              off % width != 0 ? "misaligned" : "outside the BAR", size_));
  return false;
}

SimulatedFunction::SimulatedFunction(std::shared_ptr<DeviceModel> model, SimContext context,
                                     std::string name)
    : model_(std::move(model)),
      context_(std::move(context)),
      name_(std::move(name)),
      dma_(Backing::kAnonymous, context_.iommu) {
  for (int i = 0; i < 6; ++i) {
    if (model_->bar_size(i) > 0) {
      bars_[i] = std::make_unique<SimulatedBar>(*model_, i, *context_.log, context_.serial.get());
    }
  }
}

absl::StatusOr<Bar*> SimulatedFunction::bar(int index) {
  if (index < 0 || index >= 6 || bars_[index] == nullptr) {
    return absl::NotFoundError(absl::StrFormat("%s has no BAR%d (device %04x:%04x)", name_, index,
                                               id().vendor, id().device));
  }
  return bars_[index].get();
}

void SimulatedFunction::sleep(absl::Duration d) {
  SimLock lock(context_);
  context_.clock->advance(d);
  model_->progress();  // what the device did meanwhile
}

absl::StatusOr<uint32_t> SimulatedFunction::config_read32(uint32_t offset) {
  if (offset % 4 != 0 || offset >= 4096) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "PCI configuration read at %#x: must be 4-byte aligned and below 4096", offset));
  }
  SimLock lock(context_);
  return model_->config_read32(offset);
}

}  // namespace safenic::sim
