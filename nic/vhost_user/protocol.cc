#include "nic/vhost_user/protocol.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::vhost_user {
namespace {

void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

constexpr size_t kVringAddrSize = 40;  // 2 x u32 + 4 x u64
constexpr size_t kRegionSize = 32;     // 4 x u64

}  // namespace

absl::string_view request_name(uint32_t request) {
  switch (static_cast<Request>(request)) {
    case Request::kGetFeatures: return "GET_FEATURES";
    case Request::kSetFeatures: return "SET_FEATURES";
    case Request::kSetOwner: return "SET_OWNER";
    case Request::kResetOwner: return "RESET_OWNER";
    case Request::kSetMemTable: return "SET_MEM_TABLE";
    case Request::kSetVringNum: return "SET_VRING_NUM";
    case Request::kSetVringAddr: return "SET_VRING_ADDR";
    case Request::kSetVringBase: return "SET_VRING_BASE";
    case Request::kGetVringBase: return "GET_VRING_BASE";
    case Request::kSetVringKick: return "SET_VRING_KICK";
    case Request::kSetVringCall: return "SET_VRING_CALL";
    case Request::kSetVringErr: return "SET_VRING_ERR";
    case Request::kGetProtocolFeatures: return "GET_PROTOCOL_FEATURES";
    case Request::kSetProtocolFeatures: return "SET_PROTOCOL_FEATURES";
    case Request::kGetQueueNum: return "GET_QUEUE_NUM";
    case Request::kSetVringEnable: return "SET_VRING_ENABLE";
    case Request::kGetConfig: return "GET_CONFIG";
    case Request::kSetStatus: return "SET_STATUS";
    case Request::kGetStatus: return "GET_STATUS";
  }
  return "unknown request";
}

// ---- Message ---------------------------------------------------------------

Message Message::header_only(Request r) { return Message(r, 0); }

Message Message::u64(Request r, uint64_t value) {
  Message m(r, 8);
  put64(m.payload_, value);
  return m;
}

Message Message::vring_state(Request r, uint32_t index, uint32_t num) {
  Message m(r, 8);
  put32(m.payload_, index);
  put32(m.payload_ + 4, num);
  return m;
}

Message Message::vring_addr(const VringAddr& a) {
  Message m(Request::kSetVringAddr, kVringAddrSize);
  put32(m.payload_, a.index);
  put32(m.payload_ + 4, a.flags);
  put64(m.payload_ + 8, a.desc);
  put64(m.payload_ + 16, a.used);
  put64(m.payload_ + 24, a.avail);
  put64(m.payload_ + 32, a.log);
  return m;
}

Message Message::memory_table(absl::Span<const MemoryRegion> regions) {
  const size_t n = std::min(regions.size(), kMaxMemoryRegions);
  Message m(Request::kSetMemTable, static_cast<uint32_t>(8 + n * kRegionSize));
  put32(m.payload_, static_cast<uint32_t>(n));
  put32(m.payload_ + 4, 0);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* r = m.payload_ + 8 + i * kRegionSize;
    put64(r, regions[i].guest_phys_addr);
    put64(r + 8, regions[i].memory_size);
    put64(r + 16, regions[i].userspace_addr);
    put64(r + 24, regions[i].mmap_offset);
  }
  return m;
}

Message Message::vring_file(Request r, uint32_t index, bool with_fd) {
  return u64(r, (index & kVringIndexMask) | (with_fd ? 0 : kVringNoFd));
}

absl::StatusOr<uint64_t> Message::as_u64() const {
  if (size_ != 8) {
    return absl::DataLossError(absl::StrFormat("vhost-user %s: payload of %d bytes, expected 8",
                                               request_name(request_), size_));
  }
  return get64(payload_);
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> Message::as_vring_state() const {
  if (size_ != 8) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: payload of %d bytes, expected a vring state (8)",
                        request_name(request_), size_));
  }
  return std::make_pair(get32(payload_), get32(payload_ + 4));
}

absl::StatusOr<VringAddr> Message::as_vring_addr() const {
  if (size_ != kVringAddrSize) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: payload of %d bytes, expected a vring address (%d)",
                        request_name(request_), size_, kVringAddrSize));
  }
  return VringAddr{get32(payload_),      get32(payload_ + 4),  get64(payload_ + 8),
                   get64(payload_ + 16), get64(payload_ + 24), get64(payload_ + 32)};
}

absl::StatusOr<std::vector<MemoryRegion>> Message::as_memory_table() const {
  const uint32_t n = size_ >= 8 ? get32(payload_) : 0;
  if (size_ < 8 || n > kMaxMemoryRegions || size_ != 8 + n * kRegionSize) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: payload of %d bytes does not hold a memory table",
                        request_name(request_), size_));
  }
  std::vector<MemoryRegion> regions(n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t* r = payload_ + 8 + i * kRegionSize;
    regions[i] = {get64(r), get64(r + 8), get64(r + 16), get64(r + 24)};
  }
  return regions;
}

std::vector<uint8_t> Message::encode() const {
  std::vector<uint8_t> out(kHeaderSize + size_);
  put32(out.data(), request_);
  put32(out.data() + 4, flags_);
  put32(out.data() + 8, size_);
  std::memcpy(out.data() + kHeaderSize, payload_, size_);
  return out;
}

absl::StatusOr<Message> Message::decode_header(absl::Span<const uint8_t> h) {
  if (h.size() != kHeaderSize) {
    return absl::DataLossError(absl::StrFormat("vhost-user header of %d bytes", h.size()));
  }
  Message m;
  m.request_ = get32(h.data());
  m.flags_ = get32(h.data() + 4);
  m.size_ = get32(h.data() + 8);
  if ((m.flags_ & 0x3) != kVersion) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: protocol version %d; safenic speaks version 1",
                        request_name(m.request_), m.flags_ & 0x3));
  }
  if (m.size_ > kMaxPayload) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: payload of %d bytes; the largest safenic understands is %d",
                        request_name(m.request_), m.size_, kMaxPayload));
  }
  return m;
}

absl::Status Message::set_payload(absl::Span<const uint8_t> bytes) {
  if (bytes.size() != size_) {
    return absl::DataLossError(absl::StrFormat("vhost-user %s: %d payload bytes, header says %d",
                                               request_name(request_), bytes.size(), size_));
  }
  std::memcpy(payload_, bytes.data(), bytes.size());
  return absl::OkStatus();
}

// ---- Channel ---------------------------------------------------------------

absl::StatusOr<Channel> Channel::connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(
        absl::StrFormat("vhost-user socket path '%s' is empty or longer than %d bytes", path,
                        sizeof addr.sun_path - 1));
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("socket(AF_UNIX): %s", std::strerror(errno)));
  }
  Channel c(fd);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    return absl::UnavailableError(absl::StrFormat(
        "cannot connect to vhost-user socket %s: %s. Start the back-end first, e.g. "
        "dpdk-testpmd --no-pci --vdev net_vhost0,iface=%s ...",
        path, std::strerror(err), path));
  }
  return c;
}

Channel& Channel::operator=(Channel&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Channel::~Channel() { close(); }

void Channel::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status Channel::send(const Message& m, absl::Span<const int> fds) {
  if (fd_ < 0) return absl::UnavailableError("vhost-user connection is closed");
  if (fds.size() > kMaxMemoryRegions) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d file descriptors in one vhost-user message", fds.size()));
  }
  const std::vector<uint8_t> bytes = m.encode();
  // The fds travel with the header: the back-end reads them with it.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMemoryRegions)] = {};
  size_t sent = 0;
  while (sent < bytes.size()) {
    iovec iov{const_cast<uint8_t*>(bytes.data()) + sent, bytes.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (sent == 0 && !fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
      cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
      std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    }
    const ssize_t n = sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::UnavailableError(
          absl::StrFormat("vhost-user %s: sending to the back-end failed: %s",
                          request_name(m.request()), std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Message> Channel::receive(absl::Duration timeout, std::vector<int>* fds) {
  if (fd_ < 0) return absl::UnavailableError("vhost-user connection is closed");
  const absl::Time deadline = absl::Now() + timeout;
  // Reads exactly `len` bytes, collecting fds from the first read.
  auto read_all = [&](uint8_t* buf, size_t len, bool take_fds) -> absl::Status {
    size_t got = 0;
    while (got < len) {
      const int64_t ms = std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()));
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        return absl::DeadlineExceededError(absl::StrFormat(
            "the vhost-user back-end did not answer within %s", absl::FormatDuration(timeout)));
      }
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxMemoryRegions)];
      iovec iov{buf + got, len - got};
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      if (take_fds && got == 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
      }
      const ssize_t n = recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError(
            absl::StrFormat("the vhost-user back-end closed the connection%s",
                            n < 0 ? std::string(": ") + std::strerror(errno) : std::string()));
      }
      if (msg.msg_controllen != 0) {
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
          const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          for (size_t i = 0; i < count; ++i) {
            int f;
            std::memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof f);
            if (fds != nullptr) {
              fds->push_back(f);
            } else {
              ::close(f);
            }
          }
        }
      }
      got += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  };
  uint8_t header[kHeaderSize];
  SAFENIC_RETURN_IF_ERROR(read_all(header, sizeof header, true));
  SAFENIC_ASSIGN_OR_RETURN(auto m, Message::decode_header(header));
  uint8_t payload[Message::kMaxPayload];
  SAFENIC_RETURN_IF_ERROR(read_all(payload, m.size(), false));
  SAFENIC_RETURN_IF_ERROR(m.set_payload({payload, m.size()}));
  return m;
}

bool Channel::connected() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLRDHUP, 0};
  if (poll(&p, 1, 0) < 0) return errno == EINTR;
  return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0;
}

}  // namespace safenic::vhost_user
