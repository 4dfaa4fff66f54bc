// The vhost-user wire format, byte for byte (vhost-user.rst "Message
// specification"): what nic/vhost_user/protocol encodes and refuses to decode.
#include <cstdint>
#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/vhost_user/protocol.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;
using vhost_user::Message;
using vhost_user::Request;
namespace vu = vhost_user;

TEST(VhostUserProtocol, MessagesHaveTheSpecifiedLayout) {
  auto bytes = Message::vring_addr({1, 0, 0x1111, 0x2222, 0x3333, 0}).encode();
  ASSERT_EQ(bytes.size(), 12u + 40u);
  uint32_t h[3];
  std::memcpy(h, bytes.data(), 12);
  EXPECT_EQ(h[0], 9u);   // SET_VRING_ADDR
  EXPECT_EQ(h[1], 1u);   // version 1
  EXPECT_EQ(h[2], 40u);  // struct vhost_vring_addr
  uint64_t used, avail;
  std::memcpy(&used, bytes.data() + 12 + 16, 8);
  std::memcpy(&avail, bytes.data() + 12 + 24, 8);
  EXPECT_EQ(used, 0x2222u);  // used before avail, as in struct vhost_vring_addr
  EXPECT_EQ(avail, 0x3333u);

  const vu::MemoryRegion r{0x100000000, 0x10000000, 0x7f0000000000, 0};
  bytes = Message::memory_table({&r, 1}).encode();
  ASSERT_EQ(bytes.size(), 12u + 8u + 32u);
  uint64_t region[4];
  std::memcpy(region, bytes.data() + 20, 32);
  EXPECT_EQ(region[0], r.guest_phys_addr);
  EXPECT_EQ(region[1], r.memory_size);
  EXPECT_EQ(region[2], r.userspace_addr);
  EXPECT_EQ(region[3], r.mmap_offset);

  bytes = Message::vring_file(Request::kSetVringCall, 3, false).encode();
  uint64_t v;
  std::memcpy(&v, bytes.data() + 12, 8);
  EXPECT_EQ(v, 3u | 0x100u);
}

TEST(VhostUserProtocol, MalformedHeadersAreErrors) {
  uint8_t h[12] = {1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};  // version 2
  EXPECT_THAT(std::string(Message::decode_header(h).status().message()), HasSubstr("version"));
  h[4] = 1;
  h[8] = 0xff, h[9] = 0xff;  // 65535-byte payload
  EXPECT_THAT(std::string(Message::decode_header(h).status().message()), HasSubstr("payload"));
  EXPECT_FALSE(Message::u64(Request::kGetFeatures, 1).as_vring_addr().ok());
}

}  // namespace
}  // namespace safenic
