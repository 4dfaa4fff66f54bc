// Fixed-capacity packet batches for rx_batch/tx_batch: no heap.
//
//   Batch<32> batch;               // room for 32 packets, on the stack
//   dev.rx_batch(0, batch);        // appends received packets
//   dev.tx_batch(1, batch);        // sends from the front; unsent ones stay
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "mem/packet.h"
#include "mem/status.h"

namespace safenic {

// The capacity-independent view that APIs take. Invariant: slots at or past
// size() are empty Packets.
class PacketBatch {
 public:
  PacketBatch(const PacketBatch&) = delete;
  PacketBatch& operator=(const PacketBatch&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  size_t room() const { return capacity_ - size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == capacity_; }

  Packet& operator[](size_t i) {
    SAFENIC_CHECK(i < size_, "batch index out of range");
    return slots_[i];
  }
  Packet* begin() { return slots_; }
  Packet* end() { return slots_ + size_; }

  // Appends p; when full, returns false and leaves p with the caller.
  bool push(Packet& p) {
    if (size_ == capacity_) return false;
    slots_[size_++] = std::move(p);
    return true;
  }
  bool push(Packet&& p) { return push(p); }
  // Removes and returns the last packet (empty Packet if none).
  Packet pop() { return size_ == 0 ? Packet() : std::move(slots_[--size_]); }

  // Drops the first n packets (their buffers go back to their pools, or they
  // were already moved out) and moves the rest to the front.
  void erase_front(size_t n) {
    SAFENIC_CHECK(n <= size_, "erase_front past the end of the batch");
    Packet::reset_all({slots_, n});
    for (size_t i = n; i < size_; ++i) slots_[i - n] = std::move(slots_[i]);
    size_ -= static_cast<uint32_t>(n);
  }
  // For drivers: like erase_front(n) when the first n slots are already empty
  // (every packet moved into a ring or reset): nothing to return to a pool, so
  // no per-slot work. Debug builds check that they are empty.
  void erase_front_emptied(size_t n) {
    SAFENIC_CHECK(n <= size_, "erase_front past the end of the batch");
    for (size_t i = 0; i < n; ++i)
      SAFENIC_DCHECK(slots_[i].empty(), "erase_front_emptied of a full slot");
    for (size_t i = n; i < size_; ++i) slots_[i - n] = std::move(slots_[i]);
    size_ -= static_cast<uint32_t>(n);
  }
  // Drops every packet.
  void clear() { erase_front(size_); }
  // Removes empty packets (e.g. ones a driver dropped in place), keeping order.
  void compact() {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < size_; ++i) {
      if (!slots_[i].empty()) slots_[kept++].swap(slots_[i]);
    }
    size_ = kept;
  }

  // For drivers: the empty slots past size() to fill in place, then commit.
  Packet* tail() { return slots_ + size_; }
  void grow(size_t n) {
    SAFENIC_CHECK(n <= room(), "batch grown past its capacity");
    size_ += static_cast<uint32_t>(n);
  }

 protected:
  PacketBatch(Packet* slots, uint32_t capacity) : slots_(slots), capacity_(capacity) {}
  ~PacketBatch() = default;

 private:
  Packet* slots_;
  uint32_t size_ = 0;
  uint32_t capacity_;
};

template <size_t N>
class Batch final : public PacketBatch {
  static_assert(N > 0 && N <= 4096, "a batch holds 1 to 4096 packets");

 public:
  Batch() : PacketBatch(storage_, N) {}
  // Room for only `capacity` (1 to N) packets, e.g. a batch size chosen at run time.
  explicit Batch(size_t capacity)
      : PacketBatch(storage_, static_cast<uint32_t>(capacity < 1   ? 1
                                                    : capacity > N ? N
                                                                   : capacity)) {}

 private:
  Packet storage_[N];
};

}  // namespace safenic
