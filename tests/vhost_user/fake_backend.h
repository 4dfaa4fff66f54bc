// A fake vhost-user back-end for the front-end's tests (nic/vhost_user): a
// thread that speaks the protocol over a socketpair, maps the shared memory
// from the fd it is sent, and loops every frame transmitted on queue pair k
// back into pair k's receive ring, on split (virtio 1.2 §2.7) or packed
// (§2.8) rings. It records every message, so tests check the conversation as
// well as the traffic, and it notes every breach of the protocol it sees in
// errors(). DPDK is the real peer (dpdk_test.cc); this one runs everywhere
// and can misbehave on purpose.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nic/vhost_user/protocol.h"
#include "nic/virtio/spec.h"

namespace safenic::testing {

inline constexpr uint64_t kProtocolFeatures = uint64_t{1} << vhost_user::kFeatureProtocolFeatures;
inline constexpr uint64_t kReplyAckProtocol = uint64_t{1}
                                              << vhost_user::protocol_feature::kReplyAck;
inline constexpr uint64_t kMqProtocol = uint64_t{1} << vhost_user::protocol_feature::kMq;
inline constexpr uint64_t kStatusProtocol = uint64_t{1} << vhost_user::protocol_feature::kStatus;

// What DPDK's net_vhost offers, less packed rings (add bit(kRingPacked)).
inline constexpr uint64_t kDpdkLikeFeatures = [] {
  using virtio::feature::bit;
  namespace f = virtio::feature;
  return bit(f::kMrgRxbuf) | bit(f::kAnyLayout) | bit(f::kCtrlVq) | bit(f::kCtrlRx) | bit(f::kMq) |
         bit(f::kVersion1) | (uint64_t{1} << vhost_user::kFeatureLogAll) | kProtocolFeatures |
         bit(f::kCsum) | bit(f::kGuestCsum) | bit(f::kIndirectDesc) | bit(f::kEventIdx) |
         bit(f::kMtu) | bit(f::kInOrder) | bit(f::kAccessPlatform);
}();

// One message as the back-end received it.
struct Received {
  uint32_t request;
  uint32_t flags;
  std::vector<uint8_t> payload;
  size_t fds;
  vhost_user::Message message;
};

class FakeBackend {
 public:
  struct Config {
    uint64_t features = kDpdkLikeFeatures;
    uint64_t protocol_features = kReplyAckProtocol | kMqProtocol | kStatusProtocol;
    uint32_t reject = 0;       // a request answered with failure (needs REPLY_ACK)
    uint64_t queue_pairs = 1;  // GET_QUEUE_NUM; requests for rings beyond them fail
  };
  // Rings the fake keeps: vhost-user's 8-bit ring index.
  static constexpr int kRings = 256;

  FakeBackend(int fd, Config config);
  ~FakeBackend();
  FakeBackend(const FakeBackend&) = delete;
  FakeBackend& operator=(const FakeBackend&) = delete;
  // The front-end's side of a fresh socketpair, and the back-end on the other.
  static std::pair<int, std::unique_ptr<FakeBackend>> make(Config config);

  std::vector<Received> log();
  std::vector<std::string> names();  // the requests' names, in order
  bool wait_closed(absl::Duration timeout);
  void disconnect() { disconnect_ = true; }
  uint64_t looped() const;  // frames, all pairs
  uint64_t looped(int pair) const { return looped_[pair]; }
  uint64_t kicks(int ring) const { return kicks_[ring]; }
  std::string errors();

 private:
  struct Mapping {
    uint8_t* base = nullptr;
    size_t length = 0;
    vhost_user::MemoryRegion region;
  };
  // The device's side of one ring, split or packed: buffers of one
  // descriptor each, used in the order they were made available.
  class DeviceRing {
   public:
    struct Buffer {
      uint16_t id = 0;  // split: the head; packed: the buffer id
      uint64_t addr = 0;
      uint32_t len = 0;
      uint16_t flags = 0;
    };
    DeviceRing() = default;
    // `base`: SET_VRING_BASE's value (packed: the wrap counter in bit 15).
    DeviceRing(uint8_t* desc, uint8_t* driver, uint8_t* device, uint32_t size, bool packed,
               uint32_t base);
    bool available() const;
    // The next available buffer; false for one the fake cannot handle (a
    // chain, an indirect table, a head out of range).
    bool take(Buffer* b);
    void give_back(const Buffer& b, uint32_t written);
    // GET_VRING_BASE: the next buffer to take (packed: | wrap counter << 15).
    uint32_t base() const;

   private:
    uint8_t* desc_ = nullptr;
    uint8_t* driver_ = nullptr;  // split: the avail ring
    uint8_t* device_ = nullptr;  // split: the used ring
    uint32_t size_ = 0;
    bool packed_ = false;
    uint16_t next_ = 0;                    // split: free-running avail index; packed: ring position
    uint16_t used_ = 0;                    // split: free-running used index; packed: ring position
    bool wrap_ = true, used_wrap_ = true;  // packed: §2.8.1 wrap counters
  };
  struct Vring {
    uint32_t num = 0, base = 0;
    vhost_user::VringAddr addr;
    int kick = -1;
    bool enabled = false, started = false;
    DeviceRing ring;
  };

  void error(const std::string& e);
  uint8_t* gpa(uint64_t a, uint64_t len);  // a descriptor's guest physical address
  uint8_t* uva(uint64_t a, uint64_t len);  // a ring's front-end virtual address
  // The ring a message names, or null (and an error) beyond the queue pairs.
  Vring* vring(uint64_t index, absl::string_view request);
  bool start(Vring& v);
  void reply(vhost_user::Message m);
  void handle(const vhost_user::Message& m, std::vector<int>& fds);
  void loop_back(int pair);
  void run();

  vhost_user::Channel channel_;
  Config config_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, disconnect_{false}, closed_{false};
  std::mutex mu_;
  std::vector<Received> log_;
  std::string errors_;
  uint64_t protocol_ = 0, features_ = 0;
  std::vector<Mapping> maps_;
  Vring vrings_[kRings];
  std::atomic<uint64_t> looped_[kRings / 2] = {};
  std::atomic<uint64_t> kicks_[kRings] = {};
};

}  // namespace safenic::testing
