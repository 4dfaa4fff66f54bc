// The vhost-user protocol (QEMU docs/interop/vhost-user.rst, as DPDK's
// lib/vhost implements it): messages on a unix stream socket, each a 12-byte
// header {request u32, flags u32, size u32} and `size` bytes of payload, with
// file descriptors (memory, eventfds) passed alongside as SCM_RIGHTS.
// Everything is little-endian, as on every host safenic supports.
//
// This file is only the wire format and the socket; what the messages mean
// for a virtio device is in function.cc (the frontend).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace safenic::vhost_user {

// Front-end requests (vhost-user.rst "Front-end message types").
enum class Request : uint32_t {
  kGetFeatures = 1,
  kSetFeatures = 2,
  kSetOwner = 3,
  kResetOwner = 4,
  kSetMemTable = 5,
  kSetVringNum = 8,
  kSetVringAddr = 9,
  kSetVringBase = 10,
  kGetVringBase = 11,
  kSetVringKick = 12,
  kSetVringCall = 13,
  kSetVringErr = 14,
  kGetProtocolFeatures = 15,
  kSetProtocolFeatures = 16,
  kGetQueueNum = 17,
  kSetVringEnable = 18,
  kGetConfig = 24,
  kSetStatus = 39,
  kGetStatus = 40,
};
absl::string_view request_name(uint32_t request);

// Header flags: version 1 in bits 0-1, REPLY (bit 2) on answers, NEED_REPLY
// (bit 3) asks for an acknowledgement (with PROTOCOL_F_REPLY_ACK).
inline constexpr uint32_t kVersion = 0x1;
inline constexpr uint32_t kFlagReply = 1u << 2;
inline constexpr uint32_t kFlagNeedReply = 1u << 3;
inline constexpr size_t kHeaderSize = 12;

// Feature bit 30 of GET_FEATURES: the back-end has protocol features; once
// negotiated, rings start disabled until SET_VRING_ENABLE.
inline constexpr int kFeatureProtocolFeatures = 30;
// Bit 26: dirty-page logging for migration (never used here).
inline constexpr int kFeatureLogAll = 26;
namespace protocol_feature {
inline constexpr int kMq = 0;
inline constexpr int kReplyAck = 3;
inline constexpr int kStatus = 16;
}  // namespace protocol_feature

// SET_VRING_KICK/CALL/ERR payload: the vring index in bits 0-7; bit 8 says
// no file descriptor comes with it (polling).
inline constexpr uint64_t kVringIndexMask = 0xff;
inline constexpr uint64_t kVringNoFd = 1u << 8;

// At most this many memory regions in SET_MEM_TABLE (DPDK 22.11, QEMU).
inline constexpr size_t kMaxMemoryRegions = 8;

struct MemoryRegion {
  uint64_t guest_phys_addr = 0;  // the addresses descriptors carry
  uint64_t memory_size = 0;
  uint64_t userspace_addr = 0;  // the front-end's virtual address (vring addresses)
  uint64_t mmap_offset = 0;     // where the region starts in its fd
};

// struct vhost_vring_addr: ring addresses are front-end virtual addresses.
struct VringAddr {
  uint32_t index = 0;
  uint32_t flags = 0;
  uint64_t desc = 0;
  uint64_t used = 0;
  uint64_t avail = 0;
  uint64_t log = 0;
};

// One message: header and payload, encoded.
class Message {
 public:
  static constexpr size_t kMaxPayload = 8 + kMaxMemoryRegions * 32;  // the memory table

  Message() = default;
  static Message header_only(Request r);
  static Message u64(Request r, uint64_t value);
  // struct vhost_vring_state {index u32, num u32}.
  static Message vring_state(Request r, uint32_t index, uint32_t num);
  static Message vring_addr(const VringAddr& addr);
  // {nregions u32, padding u32, regions[nregions] of 4 x u64}.
  static Message memory_table(absl::Span<const MemoryRegion> regions);
  // KICK/CALL/ERR: index, and kVringNoFd when no fd is sent with it.
  static Message vring_file(Request r, uint32_t index, bool with_fd);

  uint32_t request() const { return request_; }
  uint32_t flags() const { return flags_; }
  void set_flags(uint32_t f) { flags_ = f; }
  absl::Span<const uint8_t> payload() const { return {payload_, size_}; }

  // Payload decoders; an error names the message when the size is wrong.
  absl::StatusOr<uint64_t> as_u64() const;
  absl::StatusOr<std::pair<uint32_t, uint32_t>> as_vring_state() const;
  absl::StatusOr<VringAddr> as_vring_addr() const;
  absl::StatusOr<std::vector<MemoryRegion>> as_memory_table() const;

  // Wire form: header then payload.
  std::vector<uint8_t> encode() const;
  // Parses a header; the payload is filled in by set_payload.
  static absl::StatusOr<Message> decode_header(absl::Span<const uint8_t> header);
  absl::Status set_payload(absl::Span<const uint8_t> bytes);
  uint32_t size() const { return size_; }

 private:
  Message(Request r, uint32_t size) : request_(static_cast<uint32_t>(r)), size_(size) {}
  uint32_t request_ = 0;
  uint32_t flags_ = kVersion;
  uint32_t size_ = 0;
  uint8_t payload_[kMaxPayload] = {};
};

// The socket: one connection, blocking sends, receives with a deadline.
class Channel {
 public:
  // Connects to the back-end's listening socket at `path`.
  static absl::StatusOr<Channel> connect(const std::string& path);
  explicit Channel(int fd) : fd_(fd) {}  // takes ownership of a connected socket
  Channel(Channel&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Channel& operator=(Channel&& o) noexcept;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel();

  // Sends `m` with `fds` attached (SCM_RIGHTS; the caller keeps its copies).
  absl::Status send(const Message& m, absl::Span<const int> fds = {});
  // The next message; received fds are appended to `fds` (owned by the
  // caller) or closed when `fds` is null. DeadlineExceeded after `timeout`,
  // Unavailable when the peer has closed the connection.
  absl::StatusOr<Message> receive(absl::Duration timeout, std::vector<int>* fds = nullptr);
  // False once the peer has hung up (or the socket failed); never blocks.
  bool connected() const;
  void close();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

}  // namespace safenic::vhost_user
