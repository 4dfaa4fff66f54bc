// The fake vhost-user back-end (see fake_backend.h).
#include "tests/vhost_user/fake_backend.h"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "nic/layout.h"

namespace safenic::testing {
namespace {

namespace vu = vhost_user;
using virtio::AvailEntry;
using virtio::AvailHeader;
using virtio::AvailRing;
using virtio::PackedDesc;
using virtio::SplitDesc;
using virtio::UsedElem;
using virtio::UsedHeader;
using virtio::UsedRing;
using vu::Message;
using vu::Request;

}  // namespace

// ---- one ring, the device's side -------------------------------------------

FakeBackend::DeviceRing::DeviceRing(uint8_t* desc, uint8_t* driver, uint8_t* device, uint32_t size,
                                    bool packed, uint32_t base)
    : desc_(desc), driver_(driver), device_(device), size_(size), packed_(packed) {
  // vhost-user.rst "Packed ring": bits 0-14 the index, bit 15 the wrap
  // counter; the device's used position starts where the avail one does.
  next_ = used_ = static_cast<uint16_t>(packed ? base & 0x7FFF : base);
  wrap_ = used_wrap_ = packed && (base >> 15) != 0;
}

bool FakeBackend::DeviceRing::available() const {
  bool ready;
  if (!packed_) {  // §2.7.6 avail->idx
    ready = next_ != RingRef<AvailRing>(driver_, size_).header().get<AvailHeader::IDX>();
  } else {
    // §2.8.1: available when AVAIL equals our wrap counter and USED does not.
    const uint16_t flags = LayoutArray<PackedDesc>(desc_)[next_].get<PackedDesc::FLAGS>();
    ready = ((flags & virtio::kPackedAvail) != 0) == wrap_ &&
            ((flags & virtio::kPackedUsed) != 0) != wrap_;
  }
  dma_read_barrier();  // what the index or flags published, after them
  return ready;
}

bool FakeBackend::DeviceRing::take(Buffer* b) {
  if (packed_) {
    const LayoutView<PackedDesc> d = LayoutArray<PackedDesc>(desc_)[next_];
    *b = {d.get<PackedDesc::ID>(), d.get<PackedDesc::ADDR>(), d.get<PackedDesc::LEN>(),
          d.get<PackedDesc::FLAGS>()};
    if (++next_ == size_) next_ = 0, wrap_ = !wrap_;
  } else {
    const uint16_t head =
        RingRef<AvailRing>(driver_, size_).entry(next_++ % size_).get<AvailEntry::ID>();
    if (head >= size_) return false;
    const LayoutView<SplitDesc> d = LayoutArray<SplitDesc>(desc_)[head];
    *b = {head, d.get<SplitDesc::ADDR>(), d.get<SplitDesc::LEN>(), d.get<SplitDesc::FLAGS>()};
  }
  return !(b->flags & (virtio::kDescNext | virtio::kDescIndirect));
}

void FakeBackend::DeviceRing::give_back(const Buffer& b, uint32_t written) {
  if (packed_) {
    // §2.8.1: id and length, then flags with AVAIL and USED both equal to
    // the used wrap counter (WRITE kept: the length counts).
    LayoutRef<PackedDesc> d = LayoutArray<PackedDesc>(desc_)[used_];
    d.set<PackedDesc::ID>(b.id).set<PackedDesc::LEN>(written);
    const uint16_t wrap = used_wrap_ ? virtio::kPackedAvail | virtio::kPackedUsed : 0;
    dma_write_barrier();  // id and length before the flags
    d.set<PackedDesc::FLAGS>(wrap | (b.flags & virtio::kDescWrite));
    if (++used_ == size_) used_ = 0, used_wrap_ = !used_wrap_;
    return;
  }
  // §2.7.8 used ring: the element at ring[idx % size], then idx.
  const RingRef<UsedRing> used(device_, size_);
  used.entry(used_ % size_).set<UsedElem::ID>(b.id).set<UsedElem::LEN>(written);
  dma_write_barrier();  // the element before the index
  used.header().set<UsedHeader::IDX>(++used_);
}

uint32_t FakeBackend::DeviceRing::base() const {
  return packed_ ? next_ | uint32_t{wrap_} << 15 : next_;
}

// ---- the back-end -----------------------------------------------------------

FakeBackend::FakeBackend(int fd, Config config) : channel_(fd), config_(config) {
  thread_ = std::thread([this] { run(); });
}

FakeBackend::~FakeBackend() {
  stop_ = true;
  thread_.join();
  for (const Mapping& m : maps_) munmap(m.base, m.length);
  for (Vring& v : vrings_) {
    if (v.kick >= 0) close(v.kick);
  }
}

std::pair<int, std::unique_ptr<FakeBackend>> FakeBackend::make(Config config) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {sv[0], std::make_unique<FakeBackend>(sv[1], config)};
}

std::vector<Received> FakeBackend::log() {
  std::lock_guard<std::mutex> l(mu_);
  return log_;
}

std::vector<std::string> FakeBackend::names() {
  std::vector<std::string> n;
  for (const Received& r : log()) n.emplace_back(vu::request_name(r.request));
  return n;
}

bool FakeBackend::wait_closed(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!closed_ && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  return closed_;
}

uint64_t FakeBackend::looped() const {
  uint64_t n = 0;
  for (const auto& l : looped_) n += l;
  return n;
}

std::string FakeBackend::errors() {
  std::lock_guard<std::mutex> l(mu_);
  return errors_;
}

void FakeBackend::error(const std::string& e) {
  std::lock_guard<std::mutex> l(mu_);
  errors_ += e + "\n";
}

uint8_t* FakeBackend::gpa(uint64_t a, uint64_t len) {
  for (const Mapping& m : maps_) {
    const vu::MemoryRegion& r = m.region;
    if (a >= r.guest_phys_addr && a + len <= r.guest_phys_addr + r.memory_size) {
      return m.base + r.mmap_offset + (a - r.guest_phys_addr);
    }
  }
  error("descriptor address outside the memory table");
  return nullptr;
}

uint8_t* FakeBackend::uva(uint64_t a, uint64_t len) {
  for (const Mapping& m : maps_) {
    const vu::MemoryRegion& r = m.region;
    if (a >= r.userspace_addr && a + len <= r.userspace_addr + r.memory_size) {
      return m.base + r.mmap_offset + (a - r.userspace_addr);
    }
  }
  error("ring address outside the memory table");
  return nullptr;
}

FakeBackend::Vring* FakeBackend::vring(uint64_t index, absl::string_view request) {
  // vhost-user.rst "Multiple queue support": without PROTOCOL_F_MQ one pair.
  const uint64_t pairs = (protocol_ & kMqProtocol) ? config_.queue_pairs : 1;
  if (index >= std::min<uint64_t>(2 * pairs, kRings)) {
    error(
        absl::StrFormat("%s for ring %d; the back-end has %d queue pairs", request, index, pairs));
    return nullptr;
  }
  return &vrings_[index];
}

// vhost-user.rst "Starting and stopping rings": a ring starts at its kick.
bool FakeBackend::start(Vring& v) {
  const bool packed = features_ & virtio::feature::bit(virtio::feature::kRingPacked);
  const uint64_t n = v.num;
  uint8_t* desc = uva(v.addr.desc, (packed ? PackedDesc::kSize : SplitDesc::kSize) * n);
  uint8_t* driver =
      uva(v.addr.avail, packed ? virtio::PackedEvent::kSize : virtio::split_avail_bytes(n));
  uint8_t* device =
      uva(v.addr.used, packed ? virtio::PackedEvent::kSize : virtio::split_used_bytes(n));
  if (!desc || !driver || !device || n == 0 || (packed && (v.base & 0x7FFF) >= n)) {
    error(absl::StrFormat("ring %d: size %d, base %#x, or addresses unusable", v.addr.index, n,
                          v.base));
    return false;
  }
  v.ring = DeviceRing(desc, driver, device, v.num, packed, v.base);
  return true;
}

void FakeBackend::reply(Message m) {
  m.set_flags(vu::kVersion | vu::kFlagReply);
  (void)channel_.send(m);
}

void FakeBackend::handle(const Message& m, std::vector<int>& fds) {
  const auto req = static_cast<Request>(m.request());
  const absl::string_view name = vu::request_name(m.request());
  bool answered = false;
  bool refused = m.request() == config_.reject;  // answered with failure (REPLY_ACK)
  // A payload of the wrong size names no ring: vring() then says so.
  const auto state = m.as_vring_state().value_or(std::pair<uint32_t, uint32_t>{kRings, 0});
  const auto file = m.as_u64();  // KICK, CALL: the ring in bits 0-7
  const uint64_t file_ring = file.ok() ? *file & vu::kVringIndexMask : kRings;
  // The ring a request names; a request for one it does not have fails.
  Vring* v = nullptr;
  auto ring = [&](uint64_t index) {
    v = vring(index, name);
    refused |= v == nullptr;
    return v;
  };
  switch (req) {
    case Request::kGetFeatures:
      reply(Message::u64(req, config_.features));
      answered = true;
      break;
    case Request::kGetProtocolFeatures:
      reply(Message::u64(req, config_.protocol_features));
      answered = true;
      break;
    case Request::kSetProtocolFeatures: protocol_ = *m.as_u64(); break;
    case Request::kGetQueueNum:
      reply(Message::u64(req, config_.queue_pairs));
      answered = true;
      break;
    case Request::kSetFeatures: features_ = *m.as_u64(); break;
    case Request::kSetMemTable: {
      auto regions = m.as_memory_table();
      if (!regions.ok() || regions->size() != fds.size()) {
        error("bad memory table");
        break;
      }
      for (size_t i = 0; i < fds.size(); ++i) {
        const vu::MemoryRegion& r = (*regions)[i];
        void* p = mmap(nullptr, r.memory_size + r.mmap_offset, PROT_READ | PROT_WRITE, MAP_SHARED,
                       fds[i], 0);
        if (p == MAP_FAILED) {
          error("mmap of the memory table failed");
          continue;
        }
        maps_.push_back({static_cast<uint8_t*>(p), r.memory_size + r.mmap_offset, r});
      }
      break;
    }
    case Request::kSetVringNum:
      if (ring(state.first)) v->num = state.second;
      break;
    case Request::kSetVringBase:
      if (ring(state.first)) v->base = state.second;
      break;
    case Request::kSetVringAddr: {
      const auto a = m.as_vring_addr().value_or(vu::VringAddr{.index = kRings});
      if (ring(a.index)) v->addr = a;
      break;
    }
    case Request::kSetVringKick:
      if (!ring(file_ring)) break;
      if (v->kick >= 0) close(v->kick);
      v->kick = fds.empty() ? -1 : fds[0];
      fds.clear();
      v->started = start(*v);
      if (!(features_ & kProtocolFeatures)) v->enabled = true;  // rings start enabled
      break;
    case Request::kSetVringCall: ring(file_ring); break;
    case Request::kSetVringEnable:
      if (!(features_ & kProtocolFeatures)) error("SET_VRING_ENABLE without PROTOCOL_FEATURES");
      if (ring(state.first)) v->enabled = state.second;
      break;
    case Request::kGetVringBase: {
      // Answered even for a ring it does not have, so the front-end goes on.
      uint32_t base = 0;
      if (ring(state.first)) {
        base = v->started ? v->ring.base() : v->base;
        v->started = v->enabled = false;
      }
      reply(Message::vring_state(req, state.first, base));
      answered = true;
      break;
    }
    default: break;
  }
  for (int fd : fds) close(fd);
  if ((m.flags() & vu::kFlagNeedReply) && !answered) reply(Message::u64(req, refused ? 1 : 0));
}

// VERSION_1: each buffer is one descriptor, net header + frame.
void FakeBackend::loop_back(int pair) {
  Vring& rx = vrings_[2 * pair];
  Vring& tx = vrings_[2 * pair + 1];
  if (!tx.started || !tx.enabled || !rx.started || !rx.enabled) return;
  while (tx.ring.available() && rx.ring.available()) {
    DeviceRing::Buffer t, r;
    const bool taken = tx.ring.take(&t) && rx.ring.take(&r);
    uint8_t* src = taken ? gpa(t.addr, t.len) : nullptr;
    uint8_t* dst = taken ? gpa(r.addr, r.len) : nullptr;
    if (!src || !dst || t.len > r.len || t.len < sizeof(virtio::NetHdr) ||
        (t.flags & virtio::kDescWrite) || !(r.flags & virtio::kDescWrite)) {
      error(absl::StrFormat("pair %d: bad descriptors", pair));
      tx.started = false;  // as a back-end stops a ring it cannot use
      return;
    }
    std::memcpy(dst, src, t.len);
    LayoutRef<virtio::NetHdr>(dst).set<virtio::NetHdr::NUM_BUFFERS>(1);
    rx.ring.give_back(r, t.len);
    tx.ring.give_back(t, 0);
    ++looped_[pair];
  }
}

void FakeBackend::run() {
  while (!stop_) {
    if (disconnect_) {
      channel_.close();
      closed_ = true;
      return;
    }
    pollfd p{channel_.fd(), POLLIN, 0};
    if (poll(&p, 1, 1) == 1) {
      std::vector<int> fds;
      auto m = channel_.receive(absl::Seconds(1), &fds);
      if (!m.ok()) {  // the front-end closed the connection
        closed_ = true;
        return;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        log_.push_back({m->request(), m->flags(),
                        std::vector<uint8_t>(m->payload().begin(), m->payload().end()), fds.size(),
                        *m});
      }
      handle(*m, fds);
    }
    for (int q = 0; q < kRings; ++q) {
      uint64_t n;
      if (vrings_[q].kick >= 0 && read(vrings_[q].kick, &n, 8) == 8) kicks_[q] += n;
    }
    for (int pair = 0; pair < kRings / 2; ++pair) loop_back(pair);
  }
}

}  // namespace safenic::testing
