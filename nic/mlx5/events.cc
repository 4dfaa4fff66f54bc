// The mlx5 Device's events, health, link and statistics (see device.cc for
// the bring-up): link() and stats() read the health syndrome first, then
// drain the EQ (port changes, CQ errors, page requests).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/mlx5/device.h"

namespace safenic::mlx5::detail {

// PRM "Health Buffer": a nonzero health syndrome is a fatal firmware error;
// the device runs nothing more until it is reset (closed and opened again).
absl::Status Mlx5Device::check_health() {
  if (stopped_) return why_stopped_;
  const uint32_t syndrome = bar_->read<HEALTH_SYNDROME>().get<HEALTH_SYNDROME::SYNDROME>();
  if (syndrome == 0) return absl::OkStatus();
  stopped_ = true;
  ++events_["health_syndromes"];
  why_stopped_ = absl::UnavailableError(absl::StrFormat(
      "%s: firmware health syndrome %#x (%s): the device has stopped (no traffic); close and "
      "reopen it",
      name(), syndrome, health_syndrome_name(static_cast<uint8_t>(syndrome))));
  return why_stopped_;
}

// PRM "Event Queue Entry", CQ error (syndrome CQ_OVERRUN or access
// violation): the CQ reports nothing more. A send queue is remade with a new
// CQ; a receive queue cannot be (TIRs name it) and says so in stats().
void Mlx5Device::cq_error(uint32_t cqn) {
  for (SendQueue& q : tx_) {
    if (q.cqn() == cqn) return void(q.recreate());  // a failure shows in q.broken()
  }
  for (ReceiveQueue& q : rx_) {
    if (q.cqn() == cqn) return q.cq_overrun();
  }
  ++events_["unknown_cq_errors"];
}

// Events (docs/connectx.md §5): an entry is software's when its owner bit is the parity
// of this pass; then the consumer index goes back through the UAR.
void Mlx5Device::poll_events() {
  const uint32_t before = eq_cc_;
  std::vector<uint32_t> failed_cqs;
  int64_t pages = 0;  // asked for (> 0) or offered back (< 0)
  for (;; ++eq_cc_) {
    LayoutRef<Eqe> e(eq_.descriptor(eq_cc_ & eq_.mask()));
    if (e.get<Eqe::OWNER>() != eq_.wrap_bit(eq_cc_)) break;
    dma_read_barrier();
    switch (e.get<Eqe::TYPE>()) {
      case kEventPortChange: link_known_ = false, ++events_["port_change_events"]; break;
      case kEventCqError:
        ++events_["cq_error_events"];
        if (e.get<Eqe::CQ_SYNDROME>() == kCqSyndromeOverrun) ++events_["cq_overruns"];
        failed_cqs.push_back(e.get<Eqe::CQN>());
        break;
      case kEventWqCatastrophic: ++events_["wq_catastrophic_events"]; break;
      case kEventPageRequest:
        ++events_["page_requests"];
        pages += static_cast<int32_t>(e.get<Eqe::NUM_PAGES>());
        break;
      default: ++events_["internal_error_events"]; break;
    }
  }
  if (eq_cc_ - before >= kEqEntries) link_known_ = false;  // full: events may have been lost
  if (eq_cc_ != before) {
    bar_->write(RegisterValue<UAR_EQ_DOORBELL>()
                    .set<UAR_EQ_DOORBELL::EQN>(eqn_)
                    .set<UAR_EQ_DOORBELL::CONSUMER_INDEX>(eq_cc_ & 0xFFFFFF),
                uar_);
  }
  for (uint32_t cqn : failed_cqs) cq_error(cqn);
  if (pages != 0) {
    const int32_t n = static_cast<int32_t>(std::clamp<int64_t>(pages, INT32_MIN, INT32_MAX));
    if (absl::Status s = hca_->answer_page_request(n); !s.ok()) {
      ++events_["page_request_failures"];
      if (page_error_.ok()) page_error_ = s;
    }
  }
}

// PAOS oper_status and PTYS eth_proto_oper (docs/connectx.md §7), asked again after a
// port change event, while the link is down, a second after the last look,
// and every time once the EQ has missed an event.
LinkStatus Mlx5Device::link() {
  if (hca_ == nullptr || !check_health().ok()) return {};
  poll_events();
  const absl::Time now = fn_->now();
  if (link_known_ && link_.up && !events_stalled_ && now - link_checked_ < kLinkRecheck)
    return link_;
  auto paos = port_register<PAOS>(kRegisterRead, [](LayoutRef<PAOS>) {});
  auto ptys = port_register<PTYS>(
      kRegisterRead, [](LayoutRef<PTYS> r) { r.set<PTYS::PROTO_MASK>(kProtoEthernet); });
  if (!paos.ok() || !ptys.ok()) return {};
  LinkStatus fresh;
  if (paos->get<PAOS::OPER_STATUS>() == kPortUp) {
    fresh.up = true;
    const uint32_t oper = ptys->get<PTYS::ETH_PROTO_OPER>();
    for (const PtysSpeed& s : kPtysSpeeds) {
      if (oper & (1u << s.bit)) fresh.speed_mbps = s.mbps;
    }
  }
  if (link_known_ && fresh.up != link_.up) {  // the port changed: where is its event?
    poll_events();
    if (link_known_ && !events_stalled_) events_stalled_ = true, ++events_["eq_stalls"];
  }
  link_ = fresh;
  link_known_ = true;
  link_checked_ = now;
  return link_;
}

absl::StatusOr<DeviceStats> Mlx5Device::stats() {
  SAFENIC_RETURN_IF_ERROR(check_health());
  poll_events();
  if (!page_error_.ok()) return std::exchange(page_error_, absl::OkStatus());  // said once
  for (const ReceiveQueue& q : rx_) {
    if (!q.broken().ok()) return q.broken();
  }
  for (const SendQueue& q : tx_) {
    if (!q.broken().ok()) return q.broken();
  }
  SAFENIC_ASSIGN_OR_RETURN(auto out, cmdq().run<QUERY_VPORT_COUNTER>());
  DeviceStats s;
  auto be64 = [&](uint32_t off) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | out.bytes()[off + i];
    return v;
  };
  for (const VportCounter& c : kVportCounters) {
    s.counters[std::string(c.name) + "_packets"] = be64(c.offset);
    s.counters[std::string(c.name) + "_octets"] = be64(c.offset + 8);
  }
  for (const auto& [name, n] : events_) s.counters[name] = n;
  for (ReceiveQueue& q : rx_) s.rx.push_back(q.stats), s.counters["rq_recoveries"] += q.recoveries;
  for (SendQueue& q : tx_) {
    s.tx.push_back(q.stats);
    s.counters["sq_recoveries"] += q.recoveries;
    s.counters["tx_unconfirmed_frames"] += q.unconfirmed;  // freed when a CQ overrun remade the SQ
  }
  return s;
}

}  // namespace safenic::mlx5::detail
