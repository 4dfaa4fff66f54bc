// The vhost-user front-end (nic/vhost_user) against the fake back-end in
// fake_backend.h: the conversation, the traffic through the shared memory on
// split and packed rings and on several queue pairs, and the errors.
#include <cstring>
#include <string>
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
#include "tests/vhost_user/fake_backend.h"

namespace safenic {
namespace {

using ::testing::ElementsAre;
using testing::FakeBackend;
using ::testing::HasSubstr;
using testing::kDpdkLikeFeatures;
using testing::kProtocolFeatures;
using testing::Received;
using vhost_user::Request;
using virtio::feature::bit;
namespace f = virtio::feature;
namespace vu = vhost_user;

struct Opened {
  std::unique_ptr<FakeBackend> backend;
  std::unique_ptr<Device> dev;
};

absl::StatusOr<Opened> open(FakeBackend::Config config, vu::Options options = {},
                            uint16_t pairs = 1) {
  auto [fd, backend] = FakeBackend::make(config);
  auto fn = vu::open_function_on_socket(fd, "vhost-user:fake", options);
  if (!fn.ok()) return fn.status();
  DeviceConfig dc;
  dc.rx_queues = dc.tx_queues = pairs;
  dc.rx_ring_size = dc.tx_ring_size = 256;
  dc.buffers_per_rx_queue = 1024;
  auto dev = open_device(*std::move(fn), dc);
  if (!dev.ok()) return dev.status();
  return Opened{std::move(backend), *std::move(dev)};
}

// Frame `seq` of pair `pair`: 60 to 1459 bytes, the pair and the sequence
// number first, then a pattern derived from them.
void write_frame(Packet& p, uint16_t pair, uint32_t seq) {
  ASSERT_TRUE(p.resize(60 + seq % 1400).ok());
  std::memcpy(p.data(), &pair, 2);
  std::memcpy(p.data() + 2, &seq, 4);
  for (size_t i = 6; i < p.size(); ++i) p.data()[i] = static_cast<uint8_t>(seq + pair + i);
}

// Whether `p` is frame `seq` of pair `pair`, intact; else why not.
::testing::AssertionResult is_frame(const Packet& p, uint16_t pair, uint32_t seq) {
  uint16_t was_pair = 0;
  uint32_t was_seq = 0;
  if (p.size() >= 6) {
    std::memcpy(&was_pair, p.data(), 2);
    std::memcpy(&was_seq, p.data() + 2, 4);
  }
  if (was_pair != pair || was_seq != seq) {
    return ::testing::AssertionFailure() << "received on pair " << pair << ": frame " << was_seq
                                         << " of pair " << was_pair << ", expected frame " << seq;
  }
  if (p.size() != 60 + seq % 1400) {
    return ::testing::AssertionFailure()
           << "frame " << seq << " of pair " << pair << " has " << p.size() << " bytes";
  }
  for (size_t i = 6; i < p.size(); ++i) {
    if (p.data()[i] != static_cast<uint8_t>(seq + pair + i)) {
      return ::testing::AssertionFailure()
             << "frame " << seq << " of pair " << pair << " changed at byte " << i;
    }
  }
  return ::testing::AssertionSuccess();
}

// Sends `per_pair` frames on each of the first `pairs` queue pairs and takes
// them back: each must come back intact, in order, on the pair it was sent
// on. Returns how many came back on each pair.
std::vector<uint32_t> round_trip(Device& nic, Mempool& pool, uint16_t pairs, uint32_t per_pair) {
  std::vector<uint32_t> sent(pairs), received(pairs);
  uint32_t total = 0;
  Batch<32> out, in;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (total < pairs * per_pair && absl::Now() < deadline) {
    for (uint16_t q = 0; q < pairs; ++q) {
      if (sent[q] < per_pair && sent[q] - received[q] < 128) {
        while (out.size() < 32 && sent[q] + out.size() < per_pair) {
          Packet p = pool.alloc();
          write_frame(p, q, sent[q] + static_cast<uint32_t>(out.size()));
          out.push(std::move(p));
        }
        auto n = nic.tx_batch(q, out);
        EXPECT_TRUE(n.ok()) << n.status();
        sent[q] += static_cast<uint32_t>(n.value_or(0));
        out.clear();  // unsent frames are made again, for this pair
      }
      EXPECT_TRUE(nic.rx_batch(q, in).ok());
      for (Packet& p : in) {
        const ::testing::AssertionResult ok = is_frame(p, q, received[q]);
        if (!ok) {
          ADD_FAILURE() << ok.message();
          in.clear();
          return received;
        }
        ++received[q], ++total;
      }
      in.clear();
    }
  }
  return received;
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
  // Only what safenic uses.
  EXPECT_EQ(*log[3].message.as_u64(), testing::kReplyAckProtocol | testing::kMqProtocol);
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

// Split rings (§2.7) or packed ones (§2.8), as the back-end offers.
class VhostUserRings : public ::testing::TestWithParam<bool /* packed */> {
 protected:
  FakeBackend::Config backend(uint64_t queue_pairs = 1) const {
    FakeBackend::Config c;
    if (GetParam()) c.features |= bit(f::kRingPacked);
    c.queue_pairs = queue_pairs;
    return c;
  }
  void expect_ring_format(Device& nic) const {
    EXPECT_EQ(static_cast<bool>(virtio::negotiated_features(nic) & bit(f::kRingPacked)),
              GetParam());
  }
};

TEST_P(VhostUserRings, FramesGoThroughTheSharedMemoryAndComeBack) {
  auto o = open(backend());
  ASSERT_TRUE(o.ok()) << o.status();
  Device& nic = *o->dev;
  expect_ring_format(nic);
  auto pool = nic.create_mempool({.buffers = 512, .tag = "app"});
  ASSERT_TRUE(pool.ok()) << pool.status();
  ASSERT_NE((*pool)->region().arena(), nullptr);  // the application's buffers are shared too
  constexpr uint32_t kFrames = 3000;              // ~12 laps of the 256-entry rings
  EXPECT_EQ(round_trip(nic, **pool, 1, kFrames)[0], kFrames);
  EXPECT_EQ(o->backend->looped(), kFrames);
  EXPECT_GE(o->backend->kicks(1), 1u);  // the back-end needed kicks to see TX work
  EXPECT_EQ(o->backend->errors(), "");
}

// §5.1.6.5.5: with two pairs at a back-end that has two, pair k's frames
// loop through rings 2k+1 and 2k (the fake loops each pair on itself).
TEST_P(VhostUserRings, TwoQueuePairsEachCarryTheirOwnFrames) {
  auto o = open(backend(2), {}, 2);
  ASSERT_TRUE(o.ok()) << o.status();
  Device& nic = *o->dev;
  expect_ring_format(nic);
  EXPECT_TRUE(virtio::negotiated_features(nic) & bit(f::kMq));
  auto pool = nic.create_mempool({.buffers = 512, .tag = "app"});
  ASSERT_TRUE(pool.ok()) << pool.status();
  constexpr uint32_t kPerPair = 1500;
  EXPECT_THAT(round_trip(nic, **pool, 2, kPerPair), ElementsAre(kPerPair, kPerPair));
  EXPECT_EQ(o->backend->looped(0), kPerPair);
  EXPECT_EQ(o->backend->looped(1), kPerPair);
  EXPECT_GE(o->backend->kicks(1), 1u);
  EXPECT_GE(o->backend->kicks(3), 1u);  // pair 1's notifications reach its own ring
  EXPECT_EQ(o->backend->errors(), "");
}

INSTANTIATE_TEST_SUITE_P(Formats, VhostUserRings, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Packed" : "Split"; });

// A back-end with more pairs than the driver uses (DPDK answers
// GET_QUEUE_NUM with 128): only the driver's pairs' rings reach it, and the
// second pair is enabled only once the driver asks for two (VQ_PAIRS_SET),
// after every ring has started (§5.1.6.5.5: the first pair until then).
TEST(VhostUser, TheSecondPairIsEnabledByVqPairsSet) {
  FakeBackend::Config c;
  c.queue_pairs = 128;
  auto o = open(c, {}, 2);
  ASSERT_TRUE(o.ok()) << o.status();
  o->dev.reset();
  ASSERT_TRUE(o->backend->wait_closed(absl::Seconds(5)));
  const std::vector<Received> log = o->backend->log();
  std::vector<std::pair<uint32_t, uint32_t>> enables;
  size_t last_kick = 0, first_enable_of_pair_1 = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    const Received& m = log[i];
    if (m.request == static_cast<uint32_t>(Request::kSetVringKick)) {
      EXPECT_LT(*m.message.as_u64() & vu::kVringIndexMask, 4u);
      last_kick = i;
    }
    if (m.request == static_cast<uint32_t>(Request::kSetVringNum)) {
      EXPECT_LT(m.message.as_vring_state()->first, 4u);
    }
    if (m.request == static_cast<uint32_t>(Request::kSetVringEnable)) {
      enables.push_back(*m.message.as_vring_state());
      if (enables.back().first == 2 && first_enable_of_pair_1 == 0) first_enable_of_pair_1 = i;
    }
  }
  using E = std::pair<uint32_t, uint32_t>;
  EXPECT_THAT(enables, ElementsAre(E{0, 1}, E{1, 1}, E{2, 1}, E{3, 1},    // open
                                   E{0, 0}, E{1, 0}, E{2, 0}, E{3, 0}));  // reset
  EXPECT_GT(first_enable_of_pair_1, last_kick);
  EXPECT_EQ(o->backend->errors(), "");
}

// A back-end with one queue pair (GET_QUEUE_NUM 1, or no PROTOCOL_F_MQ):
// the device offers no MQ, and the driver refuses two pairs with the reason
// before it sets up any ring.
class VhostUserOnePair : public ::testing::TestWithParam<bool /* PROTOCOL_F_MQ */> {};

TEST_P(VhostUserOnePair, TwoPairsAreRefusedWithTheReason) {
  FakeBackend::Config c;
  if (GetParam()) {
    c.queue_pairs = 1;
  } else {
    c.protocol_features &= ~testing::kMqProtocol;
    c.queue_pairs = 4;  // never asked
  }
  auto [fd, backend] = FakeBackend::make(c);
  auto fn = vu::open_function_on_socket(fd, "vhost-user:fake");
  ASSERT_TRUE(fn.ok()) << fn.status();
  DeviceConfig dc;
  dc.rx_queues = dc.tx_queues = 2;
  auto dev = open_device(*std::move(fn), dc);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dev.status().message()),
              HasSubstr("2 queue pairs requested; the device offers 1 (no VIRTIO_NET_F_MQ)"));
  ASSERT_TRUE(backend->wait_closed(absl::Seconds(5)));  // the function went with the device
  const std::vector<Received> log = backend->log();
  EXPECT_EQ(of(log, Request::kGetQueueNum).size(), GetParam() ? 1u : 0u);
  EXPECT_TRUE(of(log, Request::kSetVringKick).empty());
  EXPECT_FALSE(*of(log, Request::kSetFeatures).back().message.as_u64() & bit(f::kMq));
  EXPECT_EQ(backend->errors(), "");
}

INSTANTIATE_TEST_SUITE_P(BackEnds, VhostUserOnePair, ::testing::Values(true, false),
                         [](const auto& info) {
                           return info.param ? "QueueNumOne" : "NoProtocolMq";
                         });

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
  o->dev.reset();                             // and so is closing
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
