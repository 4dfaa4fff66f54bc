#include "sim/wires/tap.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"

namespace safenic::sim {
namespace {

constexpr size_t kMinFrame = 60;             // Ethernet minimum without FCS
constexpr size_t kBufferSize = 65536 + 256;  // more than any frame a TAP hands out (MTU <= 65535)

absl::Status permission_error(const std::string& what, int err) {
  return absl::PermissionDeniedError(absl::StrFormat(
      "%s: %s; TAP interfaces need CAP_NET_ADMIN: run as root, or grant the binary the "
      "capability (setcap cap_net_admin+ep BINARY)",
      what, std::strerror(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TapPort>> TapPort::open(const std::string& name) {
  if (name.size() >= IFNAMSIZ) {
    return absl::InvalidArgumentError(
        absl::StrFormat("TAP name '%s' is %d characters; Linux interface names have at most %d",
                        name, name.size(), IFNAMSIZ - 1));
  }
  const int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENODEV || err == ENXIO) {
      return absl::NotFoundError(absl::StrFormat(
          "cannot open /dev/net/tun: %s; load the tun module (modprobe tun), or in a container "
          "pass the device in (docker run --device /dev/net/tun --cap-add NET_ADMIN)",
          std::strerror(err)));
    }
    if (err == EACCES || err == EPERM) return permission_error("cannot open /dev/net/tun", err);
    return absl::UnavailableError(
        absl::StrFormat("cannot open /dev/net/tun: %s", std::strerror(err)));
  }
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    const int err = errno;
    ::close(fd);
    const std::string what = absl::StrFormat("cannot create TAP interface '%s'", name);
    if (err == EPERM || err == EACCES) return permission_error(what, err);
    if (err == EBUSY) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "%s: another process has it open; stop that one or pick another name", what));
    }
    if (err == EINVAL) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: an interface of that name exists and is not a TAP (see ip link show '%s'), or "
          "the name is not valid; pick another name",
          what, name));
    }
    return absl::UnavailableError(absl::StrFormat("%s: %s", what, std::strerror(err)));
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  auto port = std::unique_ptr<TapPort>(new TapPort(fd, ifr.ifr_name));
  port->set_carrier(false);  // no cable yet
  return port;
}

TapPort::TapPort(int fd, std::string name)
    : fd_(fd), name_(std::move(name)), buffer_(kBufferSize) {}

TapPort::~TapPort() {
  disconnect(*this);  // before the fd goes (on_link_change uses it)
  ::close(fd_);
}

void TapPort::set_carrier(bool on) {
  int value = on ? 1 : 0;
  (void)::ioctl(fd_, TUNSETCARRIER, &value);  // Linux >= 4.19; older kernels keep carrier on
}

void TapPort::on_link_change(bool connected) { set_carrier(connected); }

void TapPort::receive(absl::Span<const uint8_t> frame) {
  const ssize_t n = ::write(fd_, frame.data(), frame.size());
  if (n == static_cast<ssize_t>(frame.size())) {
    ++to_kernel_;
  } else {
    ++write_errors_;
  }
}

size_t TapPort::poll(size_t max_frames) {
  size_t done = 0;
  while (done < max_frames) {
    const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) ++read_errors_;
      break;
    }
    if (n == 0) break;
    size_t size = static_cast<size_t>(n);
    if (size < kMinFrame) {
      std::memset(buffer_.data() + size, 0, kMinFrame - size);
      size = kMinFrame;
    }
    ++from_kernel_;
    ++done;
    transmit(absl::MakeConstSpan(buffer_.data(), size));
  }
  return done;
}

bool TapPort::wait(absl::Duration timeout) {
  pollfd p{fd_, POLLIN, 0};
  const int ms =
      static_cast<int>(std::clamp<int64_t>(absl::ToInt64Milliseconds(timeout), 0, 60'000));
  return ::poll(&p, 1, ms) > 0 && (p.revents & POLLIN) != 0;
}

}  // namespace safenic::sim
