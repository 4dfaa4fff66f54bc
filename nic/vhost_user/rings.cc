// The vhost-user front-end's rings (see frontend.h): starting and stopping
// them at the back-end, the control queue it serves itself, and the message
// exchange.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/vhost_user/frontend.h"

namespace safenic::vhost_user::internal {

// vhost-user.rst "Starting and stopping rings": size, base, addresses, kick,
// call, then enable (rings start disabled with PROTOCOL_FEATURES).
bool VhostUserFunction::start(uint16_t q) {
  if (q == control_index_) return start_control();
  Vring& vr = vrings_[q];
  const bool packed = driver_features_ & bit(feature::kRingPacked);
  const uint64_t n = vr.size;
  const uint64_t desc = user_address(vr.desc, (packed ? PackedDesc::kSize : SplitDesc::kSize) * n);
  const uint64_t driver =
      user_address(vr.driver, packed ? PackedEvent::kSize : split_avail_bytes(n));
  const uint64_t device =
      user_address(vr.device, packed ? PackedEvent::kSize : split_used_bytes(n));
  if (n == 0 || n > kMaxQueueSize || (!packed && (n & (n - 1))) || !desc || !driver || !device) {
    fail(absl::FailedPreconditionError(absl::StrFormat(
        "queue %d: size %d or ring areas (%#x, %#x, %#x) outside the shared memory [%#x, +%#x)", q,
        n, vr.desc, vr.driver, vr.device, arena_->region().iova(), arena_->region().size())));
    return false;
  }
  if (vr.kick < 0) vr.kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (vr.kick < 0) {
    fail(absl::ResourceExhaustedError(absl::StrFormat("eventfd: %s", std::strerror(errno))));
    return false;
  }
  // Packed rings (§2.8.1): bit 15 of the base is the wrap counter, initially 1.
  const uint32_t base = packed ? 0x8000 : 0;
  const int kick = vr.kick;
  absl::Status s = request(Message::vring_state(Request::kSetVringNum, q, vr.size));
  if (s.ok()) s = request(Message::vring_state(Request::kSetVringBase, q, base));
  if (s.ok()) s = request(Message::vring_addr({q, 0, desc, device, driver, 0}));
  if (s.ok()) s = request(Message::vring_file(Request::kSetVringKick, q, true), {&kick, 1});
  // No call fd: safenic polls, so the back-end never needs to interrupt it.
  if (s.ok()) s = request(Message::vring_file(Request::kSetVringCall, q, false));
  // Pairs beyond the active ones stay disabled until VQ_PAIRS_SET.
  if (s.ok() && protocol_features() && active(q)) {
    s = request(Message::vring_state(Request::kSetVringEnable, q, 1));
  }
  if (s.ok()) s = sync();
  if (!s.ok()) {
    fail(s);
    return false;
  }
  vr.started = true;
  return true;
}

void VhostUserFunction::stop(uint16_t q) {
  Vring& vr = vrings_[q];
  if (q == control_index_ && control_) {
    control_.reset();  // the front-end's own: nothing to tell the back-end
    vr.started = false;
    return;
  }
  if (vr.started && channel_.connected()) {
    // GET_VRING_BASE stops the ring; its answer says the back-end is done with it.
    absl::Status s = protocol_features()
                         ? request(Message::vring_state(Request::kSetVringEnable, q, 0))
                         : absl::OkStatus();
    if (s.ok()) s = call(Message::vring_state(Request::kGetVringBase, q, 0)).status();
    if (!s.ok()) fail(s);
  }
  vr.started = false;
  if (vr.kick >= 0) ::close(vr.kick);
  vr.kick = -1;
}

bool VhostUserFunction::start_control() {
  Vring& vr = vrings_[control_index_];
  auto cq = ControlQueue::create(
      [this](uint64_t iova, uint64_t len) {
        return reinterpret_cast<uint8_t*>(user_address(iova, len));
      },
      vr.size, driver_features_ & bit(feature::kRingPacked),
      driver_features_ & bit(feature::kEventIdx), vr.desc, vr.driver, vr.device);
  if (!cq.ok()) {
    fail(cq.status());
    return false;
  }
  control_.emplace(*std::move(cq));
  vr.started = true;
  return true;
}

void VhostUserFunction::serve_control() {
  absl::Status s = control_->serve([this](uint8_t cls, uint8_t cmd, absl::Span<const uint8_t> d) {
    return control_command(cls, cmd, d);
  });
  if (!s.ok()) {
    fail(s);
    status_ |= status::kDeviceNeedsReset;  // §2.1.2: a driver error we cannot get past
  }
}

uint8_t VhostUserFunction::control_command(uint8_t cls, uint8_t cmd,
                                           absl::Span<const uint8_t> data) {
  // §5.1.6.5.1 receive mode: vhost-user back-ends filter nothing (they
  // deliver every frame), so promiscuous and all-multicast, on or off, hold
  // as far as the driver can tell: acknowledged, as QEMU does.
  if (cls == kCtrlRx && (cmd == kCtrlRxPromisc || cmd == kCtrlRxAllmulti) && data.size() == 1) {
    return kCtrlOk;
  }
  // §5.1.6.5.5 automatic receive steering in multiqueue mode.
  if (cls == kCtrlMq && cmd == kCtrlMqVqPairsSet && data.size() == 2 &&
      (driver_features_ & bit(feature::kMq))) {
    const uint16_t pairs = static_cast<uint16_t>(data[0] | data[1] << 8);
    if (pairs < 1 || pairs > max_pairs_) return kCtrlErr;
    if (absl::Status s = set_active_pairs(pairs); !s.ok()) {
      fail(s);
      return kCtrlErr;
    }
    return kCtrlOk;
  }
  return kCtrlErr;  // MAC tables, VLAN filters, announcements: not served
}

// vhost-user.rst "Multiple queue support": the front-end enables and
// disables rings with SET_VRING_ENABLE; queues not started yet get the right
// state when they start.
absl::Status VhostUserFunction::set_active_pairs(uint16_t n) {
  const uint16_t before = active_pairs_;
  active_pairs_ = n;
  for (uint16_t q = 0; q < 2 * max_pairs_; ++q) {
    const bool was = q < 2 * before, now = active(q);
    if (!vrings_[q].started || was == now) continue;
    if (absl::Status s = request(Message::vring_state(Request::kSetVringEnable, q, now)); !s.ok()) {
      return s;
    }
  }
  return sync();
}

absl::Status VhostUserFunction::request(Message m, absl::Span<const int> fds) {
  if (reply_ack_) m.set_flags(m.flags() | kFlagNeedReply);
  SAFENIC_RETURN_IF_ERROR(channel_.send(m, fds));
  if (!reply_ack_) return absl::OkStatus();
  SAFENIC_ASSIGN_OR_RETURN(auto ack, channel_.receive(options_.reply_timeout));
  auto code = ack.as_u64();
  if (ack.request() != m.request() || !(ack.flags() & kFlagReply) || !code.ok()) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: the back-end answered with %s (flags %#x)",
                        request_name(m.request()), request_name(ack.request()), ack.flags()));
  }
  if (*code != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("the vhost-user back-end rejected %s (reply %d); its log says why",
                        request_name(m.request()), *code));
  }
  return absl::OkStatus();
}

absl::StatusOr<Message> VhostUserFunction::call(const Message& m) {
  SAFENIC_RETURN_IF_ERROR(channel_.send(m));
  SAFENIC_ASSIGN_OR_RETURN(auto reply, channel_.receive(options_.reply_timeout));
  if (reply.request() != m.request() || !(reply.flags() & kFlagReply)) {
    return absl::DataLossError(
        absl::StrFormat("vhost-user %s: the back-end answered with %s (flags %#x)",
                        request_name(m.request()), request_name(reply.request()), reply.flags()));
  }
  return reply;
}

absl::Status VhostUserFunction::sync() {
  // With REPLY_ACK every request was acknowledged already; without, a
  // request that has an answer proves the ones before it were processed (the
  // back-end drops the connection on a request it cannot handle).
  if (reply_ack_) return absl::OkStatus();
  return call(Message::header_only(Request::kGetFeatures)).status();
}

void VhostUserFunction::fail(const absl::Status& s) {
  std::fprintf(stderr, "safenic: %s: %s\n", name_.c_str(), std::string(s.message()).c_str());
}

}  // namespace safenic::vhost_user::internal
