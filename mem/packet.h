// Packet: move-only owner of one mempool buffer. Dropping a Packet returns its
// buffer to its pool; no API yields two owners; copying is an explicit clone().
#pragma once

#include "mem/cxx20.h"  // first: a clear message when not built as C++20

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "mem/buffer.h"
#include "mem/status.h"

namespace safenic {

class Packet {
 public:
  Packet() noexcept = default;
  Packet(Packet&& o) noexcept : m_(std::exchange(o.m_, nullptr)) {}
  Packet& operator=(Packet&& o) noexcept {
    if (this != &o) {
      reset();
      m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
  }
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;
  ~Packet() { reset(); }

  // Returns the buffer to its pool now; the Packet becomes empty.
  void reset() {
    if (m_ != nullptr) m_->home->put(std::exchange(m_, nullptr));
  }
  // Like reset() on each packet, but returns each run of consecutive buffers
  // from the same pool with one free-list update (cf. rte_pktmbuf_free_bulk).
  static void reset_all(absl::Span<Packet> packets);
  // Exchanges buffers (no buffer changes hands twice: each keeps one owner).
  void swap(Packet& o) noexcept { std::swap(m_, o.m_); }
  bool empty() const { return m_ == nullptr; }
  explicit operator bool() const { return m_ != nullptr; }

  // The frame: `size()` bytes starting at `data()`.
  uint8_t* data() const { return m_->buf + m_->data_off; }
  size_t size() const { return m_->len; }
  absl::Span<uint8_t> bytes() const { return {data(), m_->len}; }
  // IOVA of data(): what a descriptor points at.
  uint64_t iova() const { return m_->iova + m_->data_off; }
  // IOVA of the buffer's first byte (where the headroom starts).
  uint64_t buffer_iova() const { return m_->iova; }
  size_t headroom() const { return m_->data_off; }
  // Bytes available after data() (the most size() can grow to).
  size_t capacity() const { return m_->home->stride - m_->data_off; }
  Mempool& pool() const { return *m_->home->owner; }
  // Offload metadata (mem/offloads.h): what the device found on receive.
  PacketOffloads& offloads() const { return m_->offloads; }

  // Sets the frame length; fails (and changes nothing) past capacity().
  absl::Status resize(size_t len) {
    if (ABSL_PREDICT_FALSE(len > capacity())) return too_long(len);
    m_->len = static_cast<uint32_t>(len);
    return absl::OkStatus();
  }
  // resize() for fast paths: false (and nothing changed) past capacity().
  bool try_resize(size_t len) {
    if (ABSL_PREDICT_FALSE(len > capacity())) return false;
    m_->len = static_cast<uint32_t>(len);
    return true;
  }
  // resize() for a fast path that has bounded `len` already by what a fresh
  // buffer of the pool holds (Mempool::data_room(), e.g. the length it gave
  // a device to write into): the buffer's geometry is not read again.
  // Checked in builds without NDEBUG.
  void resize_within_data_room(size_t len) {
    SAFENIC_DCHECK(len <= capacity(), "resize_within_data_room past the packet's capacity");
    m_->len = static_cast<uint32_t>(len);
  }
  // Grows the frame at the front into the headroom (e.g. a virtio header).
  absl::Status prepend(size_t n) {
    if (ABSL_PREDICT_FALSE(n > m_->data_off)) return no_headroom(n);
    m_->data_off -= static_cast<uint32_t>(n);
    m_->len += static_cast<uint32_t>(n);
    return absl::OkStatus();
  }
  // Drops n bytes from the front of the frame.
  absl::Status trim_front(size_t n);

  // A new Packet from `pool` (default: this packet's pool) with the same
  // headroom, length, bytes and offload metadata.
  absl::StatusOr<Packet> clone() const;
  absl::StatusOr<Packet> clone(Mempool& pool) const;

 private:
  friend class Mempool;
  explicit Packet(BufferMeta* m) : m_(m) {}
  absl::Status too_long(size_t len) const;
  absl::Status no_headroom(size_t n) const;

  BufferMeta* m_ = nullptr;
};

inline void Packet::reset_all(absl::Span<Packet> packets) {
  Packet* p = packets.data();
  Packet* const end = p + packets.size();
  while (p != end) {
    BufferMeta* m = p->m_;
    if (m == nullptr) {
      ++p;
      continue;
    }
    FreeList& home = *m->home;
    BufferMeta** dst = home.top + home.count;
    do {  // a run: p holds m, a buffer of `home`
      *dst++ = m;
      (p++)->m_ = nullptr;
    } while (p != end && (m = p->m_) != nullptr && m->home == &home);
    // May delete the pool: `home` is not used again.
    home.put_done(static_cast<uint32_t>(dst - home.top));
  }
}

}  // namespace safenic
