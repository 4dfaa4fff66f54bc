// The vhost-user front-end (nic/vhost_user) against a fake back-end: a thread
// in this test that speaks the protocol over a socketpair, maps the shared
// memory from the fd it is sent, and loops transmitted frames back into the
// receive ring (split rings). It records every message, so the tests check
// the conversation as well as the traffic. DPDK is the real peer
// (dpdk_test.cc); this one runs everywhere and can misbehave on purpose.
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mem/arena.h"
#include "mem/batch.h"
#include "nic/open.h"
#include "nic/vhost_user/function.h"
#include "nic/vhost_user/protocol.h"
#include "nic/virtio/spec.h"
#include "nic/virtio/virtio_net.h"

namespace safenic {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using vhost_user::Channel;
using vhost_user::Message;
using vhost_user::Request;
using virtio::feature::bit;
namespace f = virtio::feature;
namespace vu = vhost_user;

constexpr uint64_t kProtocolFeatures = uint64_t{1} << vu::kFeatureProtocolFeatures;
constexpr uint64_t kReplyAck = uint64_t{1} << vu::protocol_feature::kReplyAck;

// What DPDK's net_vhost offers, less packed rings (the fake does split only).
constexpr uint64_t kDpdkLikeFeatures =
    bit(f::kMrgRxbuf) | bit(f::kAnyLayout) | bit(f::kCtrlVq) | bit(f::kCtrlRx) | bit(f::kMq) |
    bit(f::kVersion1) | (uint64_t{1} << vu::kFeatureLogAll) | kProtocolFeatures |
    bit(f::kCsum) | bit(f::kGuestCsum) | bit(f::kIndirectDesc) | bit(f::kEventIdx) |
    bit(f::kMtu) | bit(f::kInOrder) | bit(f::kAccessPlatform);

struct Received {
  uint32_t request;
  uint32_t flags;
  std::vector<uint8_t> payload;
  size_t fds;
  Message message;
};

class FakeBackend {
 public:
  struct Config {
    uint64_t features = kDpdkLikeFeatures;
    uint64_t protocol_features = kReplyAck | 1 /* MQ */ | (1 << 16) /* STATUS */;
    uint32_t reject = 0;  // a request answered with failure (needs REPLY_ACK)
    uint64_t queue_pairs = 1;  // GET_QUEUE_NUM
  };

  explicit FakeBackend(int fd, Config config) : channel_(fd), config_(config) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeBackend() {
    stop_ = true;
    thread_.join();
    for (const Mapping& m : maps_) munmap(m.base, m.length);
    for (Vring& v : vrings_) {
      if (v.kick >= 0) close(v.kick);
    }
  }
  // The front-end's side of a fresh socketpair, and the back-end on the other.
  static std::pair<int, std::unique_ptr<FakeBackend>> make(Config config) {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    return {sv[0], std::make_unique<FakeBackend>(sv[1], config)};
  }

  std::vector<Received> log() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }
  std::vector<std::string> names() {
    std::vector<std::string> n;
    for (const Received& r : log()) n.emplace_back(vu::request_name(r.request));
    return n;
  }
  bool wait_closed(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!closed_ && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
    return closed_;
  }
  void disconnect() { disconnect_ = true; }
  uint64_t looped() const { return looped_; }
  uint64_t kicks(int q) const { return kicks_[q]; }
  std::string errors() {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }

 private:
  struct Mapping {
    uint8_t* base = nullptr;
    size_t length = 0;
    vu::MemoryRegion region;
  };
  struct Vring {
    uint32_t num = 0, base = 0;
    vu::VringAddr addr;
    int kick = -1;
    bool call_nofd = false, enabled = false, started = false;
    uint16_t last_avail = 0;
  };

  void error(const std::string& e) {
    std::lock_guard<std::mutex> l(mu_);
    errors_ += e + "\n";
  }
  // Back-end address of guest physical [gpa, gpa + len).
  uint8_t* gpa(uint64_t a, uint64_t len) {
    for (const Mapping& m : maps_) {
      const vu::MemoryRegion& r = m.region;
      if (a >= r.guest_phys_addr && a + len <= r.guest_phys_addr + r.memory_size) {
        return m.base + r.mmap_offset + (a - r.guest_phys_addr);
      }
    }
    error("descriptor address outside the memory table");
    return nullptr;
  }
  // Back-end address of a front-end virtual address (vring addresses).
  uint8_t* uva(uint64_t a, uint64_t len) {
    for (const Mapping& m : maps_) {
      const vu::MemoryRegion& r = m.region;
      if (a >= r.userspace_addr && a + len <= r.userspace_addr + r.memory_size) {
        return m.base + r.mmap_offset + (a - r.userspace_addr);
      }
    }
    error("ring address outside the memory table");
    return nullptr;
  }

  void reply(Message m) {
    m.set_flags(vu::kVersion | vu::kFlagReply);
    (void)channel_.send(m);
  }

  void handle(const Message& m, std::vector<int>& fds) {
    const auto req = static_cast<Request>(m.request());
    bool answered = false;
    auto state = m.as_vring_state();
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
          void* p = mmap(nullptr, r.memory_size + r.mmap_offset, PROT_READ | PROT_WRITE,
                         MAP_SHARED, fds[i], 0);
          if (p == MAP_FAILED) {
            error("mmap of the memory table failed");
            continue;
          }
          maps_.push_back({static_cast<uint8_t*>(p), r.memory_size + r.mmap_offset, r});
        }
        break;
      }
      case Request::kSetVringNum: vrings_[state->first].num = state->second; break;
      case Request::kSetVringBase: vrings_[state->first].base = state->second; break;
      case Request::kSetVringAddr: {
        auto a = m.as_vring_addr();
        vrings_[a->index].addr = *a;
        break;
      }
      case Request::kSetVringKick: {
        Vring& v = vrings_[*m.as_u64() & vu::kVringIndexMask];
        if (v.kick >= 0) close(v.kick);
        v.kick = fds.empty() ? -1 : fds[0];
        fds.clear();
        v.started = true;
        v.last_avail = static_cast<uint16_t>(v.base);
        if (!(features_ & kProtocolFeatures)) v.enabled = true;  // rings start enabled
        break;
      }
      case Request::kSetVringCall:
        vrings_[*m.as_u64() & vu::kVringIndexMask].call_nofd = *m.as_u64() & vu::kVringNoFd;
        break;
      case Request::kSetVringEnable: vrings_[state->first].enabled = state->second; break;
      case Request::kGetVringBase: {
        Vring& v = vrings_[state->first];
        v.started = v.enabled = false;
        reply(Message::vring_state(req, state->first, v.last_avail));
        answered = true;
        break;
      }
      default: break;
    }
    for (int fd : fds) close(fd);
    if ((m.flags() & vu::kFlagNeedReply) && !answered) {
      reply(Message::u64(req, m.request() == config_.reject ? 1 : 0));
    }
  }

  // Split rings, VERSION_1: each buffer is one descriptor, header + frame.
  void loop_back() {
    Vring& tx = vrings_[1];
    Vring& rx = vrings_[0];
    if (!tx.started || !tx.enabled || !rx.started || !rx.enabled || maps_.empty()) return;
    const uint32_t n = tx.num;
    uint8_t* tx_avail = uva(tx.addr.avail, 4 + 2 * n);
    uint8_t* tx_used = uva(tx.addr.used, 4 + 8 * n);
    uint8_t* tx_desc = uva(tx.addr.desc, 16 * n);
    uint8_t* rx_avail = uva(rx.addr.avail, 4 + 2 * rx.num);
    uint8_t* rx_used = uva(rx.addr.used, 4 + 8 * rx.num);
    uint8_t* rx_desc = uva(rx.addr.desc, 16 * rx.num);
    if (!tx_avail || !tx_used || !tx_desc || !rx_avail || !rx_used || !rx_desc) return;
    auto idx = [](uint8_t* ring) { return __atomic_load_n(reinterpret_cast<uint16_t*>(ring + 2), __ATOMIC_ACQUIRE); };
    auto push = [](uint8_t* used, uint32_t size, uint32_t id, uint32_t len) {
      uint16_t* uidx = reinterpret_cast<uint16_t*>(used + 2);
      const uint16_t i = *uidx;
      std::memcpy(used + 4 + 8 * (i % size), &id, 4);
      std::memcpy(used + 8 + 8 * (i % size), &len, 4);
      __atomic_store_n(uidx, static_cast<uint16_t>(i + 1), __ATOMIC_RELEASE);
    };
    while (tx.last_avail != idx(tx_avail) && rx.last_avail != idx(rx_avail)) {
      uint16_t head;
      std::memcpy(&head, tx_avail + 4 + 2 * (tx.last_avail++ % n), 2);
      LayoutRef<virtio::SplitDesc> td(tx_desc + 16 * (head % n));
      const uint64_t addr = td.get<virtio::SplitDesc::ADDR>();
      const uint32_t len = td.get<virtio::SplitDesc::LEN>();
      uint16_t rhead;
      std::memcpy(&rhead, rx_avail + 4 + 2 * (rx.last_avail++ % rx.num), 2);
      LayoutRef<virtio::SplitDesc> rd(rx_desc + 16 * (rhead % rx.num));
      const uint64_t raddr = rd.get<virtio::SplitDesc::ADDR>();
      const uint32_t rlen = rd.get<virtio::SplitDesc::LEN>();
      uint8_t* src = gpa(addr, len);
      uint8_t* dst = gpa(raddr, rlen);
      if (!src || !dst || len > rlen || len < 12 ||
          !(rd.get<virtio::SplitDesc::FLAGS>() & virtio::kDescWrite)) {
        error("bad descriptors");
        return;
      }
      std::memcpy(dst, src, len);
      const uint16_t one = 1;
      std::memcpy(dst + 10, &one, 2);  // num_buffers
      push(rx_used, rx.num, rhead, len);
      push(tx_used, n, head, 0);
      ++looped_;
    }
  }

  void run() {
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
                          std::vector<uint8_t>(m->payload().begin(), m->payload().end()),
                          fds.size(), *m});
        }
        handle(*m, fds);
      }
      for (int q = 0; q < 2; ++q) {
        uint64_t v;
        if (vrings_[q].kick >= 0 && read(vrings_[q].kick, &v, 8) == 8) kicks_[q] += v;
      }
      loop_back();
    }
  }

  Channel channel_;
  Config config_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, disconnect_{false}, closed_{false};
  std::mutex mu_;
  std::vector<Received> log_;
  std::string errors_;
  uint64_t protocol_ = 0, features_ = 0;
  std::vector<Mapping> maps_;
  Vring vrings_[256];
  std::atomic<uint64_t> looped_{0};
  std::atomic<uint64_t> kicks_[2] = {};
};

struct Opened {
  std::unique_ptr<FakeBackend> backend;
  std::unique_ptr<Device> dev;
};

absl::StatusOr<Opened> open(FakeBackend::Config config, vu::Options options = {}) {
  auto [fd, backend] = FakeBackend::make(config);
  auto fn = vu::open_function_on_socket(fd, "vhost-user:fake", options);
  if (!fn.ok()) return fn.status();
  DeviceConfig dc;
  dc.rx_ring_size = dc.tx_ring_size = 256;
  dc.buffers_per_rx_queue = 1024;
  auto dev = open_device(*std::move(fn), dc);
  if (!dev.ok()) return dev.status();
  return Opened{std::move(backend), *std::move(dev)};
}

std::vector<Received> of(const std::vector<Received>& log, Request r) {
  std::vector<Received> out;
  for (const Received& m : log) {
    if (m.request == static_cast<uint32_t>(r)) out.push_back(m);
  }
  return out;
}

TEST(VhostUser, TheConversationFollowsTheProtocol) {
  auto o = open({});
  ASSERT_TRUE(o.ok()) << o.status();
  const uint64_t negotiated = virtio::negotiated_features(*o->dev);
  // The control queue with CTRL_RX, MAC and STATUS are the front-end's own;
  // MQ only with more than one queue pair at the back-end.
  EXPECT_TRUE(negotiated & bit(f::kCtrlVq));
  EXPECT_TRUE(negotiated & bit(f::kCtrlRx));
  EXPECT_FALSE(negotiated & bit(f::kMq));
  EXPECT_TRUE(o->dev->set_promiscuous(true).ok());  // served by the front-end
  EXPECT_TRUE(negotiated & bit(f::kMac));
  EXPECT_TRUE(negotiated & bit(f::kStatus));
  EXPECT_TRUE(negotiated & bit(f::kVersion1));
  EXPECT_TRUE(o->dev->link().up);
  EXPECT_EQ(o->dev->mac().bytes[0] & 3, 2);  // locally administered unicast
  o->dev.reset();
  ASSERT_TRUE(o->backend->wait_closed(absl::Seconds(5)));
  const std::vector<Received> log = o->backend->log();
  const std::vector<std::string> names = o->backend->names();
  ASSERT_GE(names.size(), 5u);
  EXPECT_THAT(std::vector<std::string>(names.begin(), names.begin() + 5),
              ElementsAre("SET_OWNER", "GET_FEATURES", "GET_PROTOCOL_FEATURES",
                          "SET_PROTOCOL_FEATURES", "GET_QUEUE_NUM"));
  EXPECT_EQ(*log[3].message.as_u64(), kReplyAck | 1 /* MQ */);  // only what safenic uses
  // The control queue (index 2) never reaches the back-end.
  for (const Received& m : log) {
    if (m.request == static_cast<uint32_t>(Request::kSetVringNum)) {
      EXPECT_LT(m.message.as_vring_state()->first, 2u);
    }
  }

  auto set_features = of(log, Request::kSetFeatures);
  ASSERT_FALSE(set_features.empty());
  const uint64_t sent = *set_features.back().message.as_u64();
  EXPECT_TRUE(sent & kProtocolFeatures);
  EXPECT_TRUE(sent & bit(f::kVersion1));
  EXPECT_EQ(sent & ~kDpdkLikeFeatures, 0u) << "features the back-end never offered";
  EXPECT_FALSE(sent & (bit(f::kMac) | bit(f::kStatus) | bit(f::kCtrlVq) |
                       (uint64_t{1} << vu::kFeatureLogAll) | bit(f::kAccessPlatform)));

  // One memory region, the whole arena, with its fd; sent once.
  auto tables = of(log, Request::kSetMemTable);
  ASSERT_EQ(tables.size(), 1u);
  EXPECT_EQ(tables[0].fds, 1u);
  auto regions = tables[0].message.as_memory_table();
  ASSERT_TRUE(regions.ok());
  ASSERT_EQ(regions->size(), 1u);
  const vu::MemoryRegion r = (*regions)[0];
  EXPECT_EQ(r.guest_phys_addr, vu::kGuestPhysBase);
  EXPECT_EQ(r.memory_size, vu::kDefaultArenaBytes);
  EXPECT_EQ(r.mmap_offset, 0u);

  // Both rings: size, base, user addresses inside the region, a kick fd, no
  // call fd, enabled; in that order. Reset disables and stops them.
  for (uint32_t q : {0u, 1u}) {
    std::vector<std::string> seq;
    for (const Received& m : log) {
      if (m.request == static_cast<uint32_t>(Request::kSetVringAddr)) {
        auto a = m.message.as_vring_addr();
        if (a->index != q) continue;
        for (uint64_t addr : {a->desc, a->used, a->avail}) {
          EXPECT_GE(addr, r.userspace_addr);
          EXPECT_LT(addr, r.userspace_addr + r.memory_size);
        }
      } else if (m.request == static_cast<uint32_t>(Request::kSetVringKick) ||
                 m.request == static_cast<uint32_t>(Request::kSetVringCall)) {
        const uint64_t v = *m.message.as_u64();
        if ((v & vu::kVringIndexMask) != q) continue;
        const bool nofd = v & vu::kVringNoFd;
        EXPECT_EQ(nofd, m.fds == 0);
        EXPECT_EQ(nofd, m.request == static_cast<uint32_t>(Request::kSetVringCall));
      } else if ((m.request >= static_cast<uint32_t>(Request::kSetVringNum) &&
                  m.request <= static_cast<uint32_t>(Request::kGetVringBase)) ||
                 m.request == static_cast<uint32_t>(Request::kSetVringEnable)) {
        auto s = m.message.as_vring_state();
        if (s->first != q) continue;
        if (m.request == static_cast<uint32_t>(Request::kSetVringNum)) {
          EXPECT_EQ(s->second, 256u);
        }
        if (m.request == static_cast<uint32_t>(Request::kSetVringBase)) {
          EXPECT_EQ(s->second, 0u);
        }
      } else {
        continue;
      }
      seq.emplace_back(vu::request_name(m.request));
    }
    EXPECT_THAT(seq, ElementsAre("SET_VRING_NUM", "SET_VRING_BASE", "SET_VRING_ADDR",
                                 "SET_VRING_KICK", "SET_VRING_CALL", "SET_VRING_ENABLE",
                                 "SET_VRING_ENABLE", "GET_VRING_BASE"))
        << "vring " << q;
  }
  // With REPLY_ACK every SET_ after the negotiation asks for an answer.
  for (const Received& m : log) {
    if (m.request == static_cast<uint32_t>(Request::kSetVringNum) ||
        m.request == static_cast<uint32_t>(Request::kSetMemTable)) {
      EXPECT_TRUE(m.flags & vu::kFlagNeedReply);
    }
  }
  EXPECT_EQ(o->backend->errors(), "");
}

TEST(VhostUser, FramesGoThroughTheSharedMemoryAndComeBack) {
  auto o = open({});
  ASSERT_TRUE(o.ok()) << o.status();
  Device& nic = *o->dev;
  auto pool = nic.create_mempool({.buffers = 512, .tag = "app"});
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_NE((*pool)->region().arena(), nullptr);  // the application's buffers are shared too
  constexpr uint32_t kFrames = 3000;
  uint32_t sent = 0, received = 0;
  Batch<32> out, in;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (received < kFrames && absl::Now() < deadline) {
    if (sent < kFrames && sent - received < 128) {
      while (out.size() < 32 && sent + out.size() < kFrames) {
        Packet p = (*pool)->alloc();
        ASSERT_TRUE(p.resize(60 + (sent + out.size()) % 1400).ok());
        for (size_t i = 0; i < p.size(); ++i) p.data()[i] = static_cast<uint8_t>(sent + out.size() + i);
        out.push(std::move(p));
      }
      sent += static_cast<uint32_t>(*nic.tx_batch(0, out));
    }
    ASSERT_TRUE(nic.rx_batch(0, in).ok());
    for (Packet& p : in) {
      ASSERT_EQ(p.size(), 60 + received % 1400) << "frame " << received;
      for (size_t i = 0; i < p.size(); ++i) {
        ASSERT_EQ(p.data()[i], static_cast<uint8_t>(received + i)) << "frame " << received;
      }
      ++received;
    }
    in.clear();
  }
  EXPECT_EQ(received, kFrames);
  EXPECT_EQ(o->backend->looped(), kFrames);
  EXPECT_GE(o->backend->kicks(1), 1u);  // the back-end needed kicks to see TX work
  EXPECT_EQ(o->backend->errors(), "");
  out.clear();
}

TEST(VhostUser, ABackEndWithoutProtocolFeaturesGetsNoEnableMessages) {
  FakeBackend::Config c;
  c.features = kDpdkLikeFeatures & ~kProtocolFeatures;
  auto o = open(c);
  ASSERT_TRUE(o.ok()) << o.status();
  auto pool = o->dev->create_mempool({.buffers = 64, .tag = "app"});
  Batch<8> out, in;
  for (int i = 0; i < 8; ++i) {
    Packet p = (*pool)->alloc();
    ASSERT_TRUE(p.resize(64).ok());
    out.push(std::move(p));
  }
  ASSERT_EQ(*o->dev->tx_batch(0, out), 8u);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (in.size() < 8 && absl::Now() < deadline) ASSERT_TRUE(o->dev->rx_batch(0, in).ok());
  EXPECT_EQ(in.size(), 8u);
  in.clear();
  o->dev.reset();
  ASSERT_TRUE(o->backend->wait_closed(absl::Seconds(5)));
  const std::vector<Received> log = o->backend->log();
  EXPECT_TRUE(of(log, Request::kGetProtocolFeatures).empty());
  EXPECT_TRUE(of(log, Request::kSetVringEnable).empty());
  EXPECT_FALSE(*of(log, Request::kSetFeatures).back().message.as_u64() & kProtocolFeatures);
  EXPECT_EQ(of(log, Request::kGetVringBase).size(), 2u);
  EXPECT_EQ(o->backend->errors(), "");
}

TEST(VhostUser, ARejectedSetFeaturesIsARefusedFeaturesOk) {
  FakeBackend::Config c;
  c.reject = static_cast<uint32_t>(Request::kSetFeatures);
  auto o = open(c);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("refused FEATURES_OK"));
}

TEST(VhostUser, ARejectedRingIsDeviceNeedsResetAtDriverOk) {
  FakeBackend::Config c;
  c.reject = static_cast<uint32_t>(Request::kSetVringAddr);
  auto o = open(c);
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("needs a reset"));
}

TEST(VhostUser, ABackEndWithoutVersion1IsRefusedWithTheReason) {
  FakeBackend::Config c;
  c.features = bit(f::kMrgRxbuf);
  auto o = open(c);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(o.status().message()), HasSubstr("VIRTIO_F_VERSION_1"));
}

TEST(VhostUser, TheLinkIsDownOnceTheBackEndHangsUp) {
  auto o = open({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_TRUE(o->dev->link().up);
  o->backend->disconnect();
  ASSERT_TRUE(o->backend->wait_closed(absl::Seconds(5)));
  EXPECT_FALSE(o->dev->link().up);
  Batch<4> in;
  EXPECT_TRUE(o->dev->rx_batch(0, in).ok());  // polling a dead back-end is harmless
  o->dev.reset();                              // and so is closing
}

TEST(VhostUser, AllDmaMemoryComesFromOneArenaThatSaysWhenItIsFull) {
  vu::Options options;
  options.arena_bytes = 8 << 20;
  options.mac = MacAddress{{0x02, 1, 2, 3, 4, 5}};
  auto o = open({}, options);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->dev->mac(), *options.mac);
  auto pool = o->dev->create_mempool({.buffers = 4096, .tag = "too big"});
  ASSERT_FALSE(pool.ok());
  EXPECT_EQ(pool.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(pool.status().message()), HasSubstr("vhost-user:fake memory"));
  EXPECT_THAT(std::string(pool.status().message()), HasSubstr("larger arena"));
}

TEST(VhostUser, TheSpecNamesASocketAndAMissingOneSaysWhatToStart) {
  auto dev = open_device("vhost-user:/nonexistent/vu.sock");
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("/nonexistent/vu.sock"));
  EXPECT_THAT(std::string(dev.status().message()), HasSubstr("Start the back-end"));
}

}  // namespace
}  // namespace safenic
