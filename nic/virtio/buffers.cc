#include "nic/virtio/buffers.h"

#include <algorithm>

namespace safenic::virtio {

BufferTable::BufferTable(uint16_t size)
    : free_(std::make_unique<uint16_t[]>(size)),
      packets_(std::make_unique<Packet[]>(size)),
      chain_(std::make_unique<uint8_t[]>(size)),
      link_(std::make_unique<uint16_t[]>(size)),
      size_(size) {
  for (uint16_t id = size; id-- > 0;) give(id);
}

void BufferTable::release_packets() {
  for (uint16_t id = 0; id < size_; ++id) packets_[id].reset();
}

void BufferTable::start_chains(uint16_t first, uint16_t count) {
  std::fill_n(chain_.get(), size_, 0);
  for (uint16_t k = 0; k < count; ++k) chain_[(first + k) % size_] = 1;
}

}  // namespace safenic::virtio
