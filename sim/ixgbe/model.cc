#include "sim/ixgbe/model.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/regs.h"
#include "sim/checksum.h"

namespace safenic::sim {

using namespace ::safenic::ixgbe;  // the shared register and descriptor layouts

namespace {

constexpr size_t kMaxFrame = 16 * 1024;

}  // namespace

Ixgbe82599::Ixgbe82599(SimContext ctx, Ixgbe82599Config config)
    : ctx_(std::move(ctx)), config_(config), regs_("82599", *ctx_.log, kBar0Size), port_(*this) {
  // Reset values (§8.2.3) where the driver's init depends on them.
  regs_.add<CTRL>("CTRL");
  regs_.add<STATUS>("STATUS");
  regs_.add<CTRL_EXT>("CTRL_EXT");
  regs_.add<EEC>("EEC");
  regs_.add<EERD>("EERD");
  regs_.add<SWSM>("SWSM");
  regs_.add<FWSM>("FWSM");
  regs_.add<SW_FW_SYNC>("SW_FW_SYNC");
  regs_.add<FACTPS>("FACTPS");
  regs_.add<I2CCTL>("I2CCTL", I2CCTL::CLK_IN::kMask | I2CCTL::CLK_OUT::kMask |
                                  I2CCTL::DATA_IN::kMask |
                                  I2CCTL::DATA_OUT::kMask);  // bus idle: both lines high
  regs_.add<SECRXCTRL>("SECRXCTRL");
  regs_.add<SECRXSTAT>("SECRXSTAT", SECRXSTAT::SECRX_RDY::kMask);  // nothing in flight
  regs_.add<EICR>("EICR");
  regs_.add<EIMS>("EIMS");
  regs_.add<EIMC>("EIMC");
  regs_.add<FCTRL>("FCTRL");
  regs_.add<RAL>("RAL");
  regs_.add<RAH>("RAH");
  regs_.add<MRQC>("MRQC");
  regs_.add<RXCSUM>("RXCSUM");
  regs_.add<MCSTCTRL>("MCSTCTRL");
  regs_.add<MTA>("MTA");
  regs_.add<VLNCTRL>("VLNCTRL", VLNCTRL::VET::insert(0, 0x8100));
  regs_.add<VFTA>("VFTA");
  regs_.add<RETA>("RETA");
  regs_.add<RSSRK>("RSSRK");
  regs_.add<RDBAL>("RDBAL");
  regs_.add<RDBAH>("RDBAH");
  regs_.add<RDLEN>("RDLEN");
  regs_.add<RDH>("RDH");
  regs_.add<RDT>("RDT");
  regs_.add<RXDCTL>("RXDCTL");
  regs_.add<SRRCTL>("SRRCTL", 0x402);  // 2 KiB buffers, legacy descriptors
  regs_.add<DCA_RXCTRL>("DCA_RXCTRL", 1u << 12);
  regs_.add<RDRXCTL>("RDRXCTL");
  regs_.add<RXCTRL>("RXCTRL");
  regs_.add<RXPBSIZE>("RXPBSIZE");
  regs_.add<TDBAL>("TDBAL");
  regs_.add<TDBAH>("TDBAH");
  regs_.add<TDLEN>("TDLEN");
  regs_.add<TDH>("TDH");
  regs_.add<TDT>("TDT");
  regs_.add<TXDCTL>("TXDCTL");
  regs_.add<DMATXCTL>("DMATXCTL");
  regs_.add<DTXMXSZRQ>("DTXMXSZRQ", 0x10);
  regs_.add<RTTDCS>("RTTDCS");
  regs_.add<TXPBSIZE>("TXPBSIZE");
  regs_.add<HLREG0>("HLREG0");
  regs_.add<MAXFRS>("MAXFRS", kMaxFrameStandard << MAXFRS::MFS::kLo);
  // An SFP+ board's EEPROM loads AUTOC and AUTOC2 with 10G serial, SFI.
  regs_.add<AUTOC>("AUTOC", AUTOC::LMS::insert(0, AUTOC::LMS::k10gSerial));
  regs_.add<AUTOC2>("AUTOC2",
                    AUTOC2::PMA_PMD_10G_SERIAL::insert(0, AUTOC2::PMA_PMD_10G_SERIAL::kSfi));
  regs_.add<ANLP1>("ANLP1");
  regs_.add<CORECTL>("CORECTL");
  regs_.add<ESDP>("ESDP");
  regs_.add<LINKS>("LINKS");
  regs_.add<CRCERRS>("CRCERRS");
  regs_.add<RLEC>("RLEC");
  regs_.add<RUC>("RUC");
  regs_.add<ROC>("ROC");
  regs_.add<GPRC>("GPRC");
  regs_.add<RXNFGPC>("RXNFGPC");
  regs_.add<RXNFGBCL>("RXNFGBCL");
  regs_.add<RXNFGBCH>("RXNFGBCH");
  regs_.add<GPTC>("GPTC");
  regs_.add<GORCL>("GORCL");
  regs_.add<GORCH>("GORCH");
  regs_.add<GOTCL>("GOTCL");
  regs_.add<GOTCH>("GOTCH");
  regs_.add<MPC>("MPC");
  regs_.add<QPRC>("QPRC");
  regs_.add<QPRDC>("QPRDC");
  regs_.add<QPTC>("QPTC");
  regs_.add_alias<QPTC, QPTC_ALIAS>();
  regs_.add<RQSMR>("RQSMR");
  regs_.add<TQSM>("TQSM");
  regs_.add<QBRC_L>("QBRC_L");
  regs_.add<QBRC_H>("QBRC_H");
  regs_.add<QBTC_L>("QBTC_L");
  regs_.add<QBTC_H>("QBTC_H");
  add_stored_registers();
  for (uint32_t q = 0; q < kQueues; ++q) {
    rx_[q] = {&regs_.raw<RDBAL>(q), &regs_.raw<RDBAH>(q), &regs_.raw<RDLEN>(q),
              &regs_.raw<RDH>(q),   &regs_.raw<RDT>(q),   &regs_.raw<RXDCTL>(q)};
    tx_[q] = {&regs_.raw<TDBAL>(q), &regs_.raw<TDBAH>(q), &regs_.raw<TDLEN>(q),
              &regs_.raw<TDH>(q),   &regs_.raw<TDT>(q),   &regs_.raw<TXDCTL>(q)};
  }
  frame_.reserve(kMaxFrame);
  fill_eeprom();
  reset();
}

Ixgbe82599::~Ixgbe82599() = default;

size_t Ixgbe82599::bar_size(int bar) const { return bar == 0 ? kBar0Size : 0; }

// Global reset (§4.6.3.2): registers to defaults, queues disabled, then the
// EEPROM auto-read (MAC into RAL/RAH(0)) and DMA init complete at once.
bool Ixgbe82599::receiving() {
  return link_up() && rx_settings_.enabled && (*rx_[0].ctl & RXDCTL::ENABLE::kMask) != 0 &&
         *rx_[0].tail != *rx_[0].head;
}

void Ixgbe82599::reset() {
  regs_.reset();
  tx_unwritten_.fill(0);
  tx_contexts_ = {};
  start_link_setup();
  link_up_ = true;  // forces update_link() to write the registers
  const auto& m = config_.mac.bytes;
  regs_.raw<RAL>(0) = uint32_t{m[0]} | m[1] << 8 | m[2] << 16 | uint32_t{m[3]} << 24;
  regs_.set_field<RAH::RAH_BYTES>(m[4] | m[5] << 8);
  regs_.set_field<RAH::AV>(1);
  regs_.set_field<EEC::PRES>(1);
  regs_.set_field<EEC::ARD>(1);
  regs_.set_field<EEC::ADDR_SIZE>(1);
  regs_.set_field<EEC::SIZE>(kEepromSizeField);
  regs_.set_field<RDRXCTL::DMAIDONE>(1);
  spi_ = {};
  module_present_pin();
  refresh_rx_settings();
  update_link();
}

void Ixgbe82599::refresh_rx_settings() {
  RxSettings& s = rx_settings_;
  const RegisterValue<FCTRL> fctrl = regs_.get<FCTRL>();
  const RegisterValue<HLREG0> hlreg0 = regs_.get<HLREG0>();
  s.enabled = regs_.get<RXCTRL>().is_set<RXCTRL::RXEN>();
  s.broadcast = fctrl.is_set<FCTRL::BAM>();
  s.multicast = fctrl.is_set<FCTRL::MPE>();
  s.unicast = fctrl.is_set<FCTRL::UPE>();
  s.store_bad = fctrl.is_set<FCTRL::SBP>();
  s.max_frame =
      hlreg0.is_set<HLREG0::JUMBOEN>() ? regs_.get<MAXFRS>().get<MAXFRS::MFS>() : kMaxFrameStandard;
  s.length_errors = hlreg0.is_set<HLREG0::RXLNGTHERREN>();
  s.rss = regs_.get<MRQC>().get<MRQC::MRQE>() == MRQC::MRQE::kRss;
  s.hash_in_write_back = regs_.get<RXCSUM>().is_set<RXCSUM::PCSD>();
  const RegisterValue<MCSTCTRL> mcstctrl = regs_.get<MCSTCTRL>();
  s.multicast_table = mcstctrl.is_set<MCSTCTRL::MFE>();
  s.multicast_offset = mcstctrl.get<MCSTCTRL::MO>();
  const RegisterValue<VLNCTRL> vlnctrl = regs_.get<VLNCTRL>();
  s.vlan_filter = vlnctrl.is_set<VLNCTRL::VFE>();
  s.vlan_type = static_cast<uint16_t>(vlnctrl.get<VLNCTRL::VET>());
  s.address_count = 0;
  for (uint32_t i = 0; i < RAL::kCount; ++i) {
    const RegisterValue<RAH> rah = regs_.get<RAH>(i);
    if (!rah.is_set<RAH::AV>()) continue;
    s.addresses[s.address_count++] = uint64_t{rah.get<RAH::RAH_BYTES>()} << 32 | regs_.raw<RAL>(i);
  }
}

void Ixgbe82599::update_link() {
  const bool up = config_.sfp_module && port_.connected() &&
                  regs_.get<AUTOC>().get<AUTOC::LMS>() == AUTOC::LMS::k10gSerial &&
                  ctx_.clock->now() >= link_up_at_;
  if (up == link_up_) return;
  link_up_ = up;
  regs_.set_field<LINKS::LINK_UP>(up);
  regs_.set_field<LINKS::LINK_SPEED>(up ? 3 : 0);  // 10 Gb/s
  regs_.set_field<STATUS::LINK_UP>(up);
}

// Link set-up (the datasheet's "Link Setup": after a reset with what the
// EEPROM loaded into AUTOC, and after each AN restart): the auto-negotiation
// state machine leaves its first state at once, the link is up after
// autoneg_time.
void Ixgbe82599::start_link_setup() {
  link_up_at_ = ctx_.clock->now() + config_.autoneg_time;
  regs_.set_field<ANLP1::AN_STATE>(1);
}

// ESDP.SDP2 as an input (the board's module-present line) reads whether a
// module is in the cage.
void Ixgbe82599::module_present_pin() {
  if (!regs_.get<ESDP>().is_set<ESDP::SDP2_DIR>()) regs_.set_field<ESDP::SDP2>(config_.sfp_module);
}

void Ixgbe82599::flap_link() {
  link_up_at_ = std::max(link_up_at_, ctx_.clock->now() + faults_->link_down_time);
  update_link();
}

void Ixgbe82599::progress() {
  update_link();
  if (!tx_stalled_ || removed_) return;
  tx_stalled_ = false;  // retry the descriptor fetches that faulted
  if (!regs_.get<DMATXCTL>().is_set<DMATXCTL::TE>()) return;
  for (uint32_t q = 0; q < kQueues; ++q) {
    if (*tx_[q].head != *tx_[q].tail && (*tx_[q].ctl & TXDCTL::ENABLE::kMask)) transmit(q);
  }
}

void Ixgbe82599::set_tx_paused(bool paused) {
  tx_paused_ = paused;
  if (paused) return;
  for (uint32_t q = 0; q < kQueues; ++q) {
    if (*tx_[q].head != *tx_[q].tail && (*tx_[q].ctl & TXDCTL::ENABLE::kMask)) transmit(q);
  }
}

uint64_t Ixgbe82599::mmio_read(int, uint32_t off, unsigned width) {
  if (removed_) return ~uint64_t{0} >> (64 - 8 * width);
  if (width != 4) {
    ctx_.log->report(
        absl::StrFormat("82599: %d-byte read at %#x; registers are 32-bit", width, off));
    return 0;
  }
  update_link();
  RegisterFile::Hit hit;
  const uint32_t v = regs_.bus_read(off, &hit);
  // Reading SWSM takes the software semaphore: the read that finds SMBI
  // clear owns it.
  if (hit.is<SWSM>()) regs_.set_field<SWSM::SMBI>(1);
  return v;
}

void Ixgbe82599::mmio_write(int, uint32_t off, unsigned width, uint64_t value) {
  if (removed_) return;
  if (width != 4) {
    ctx_.log->report(
        absl::StrFormat("82599: %d-byte write at %#x; registers are 32-bit", width, off));
    return;
  }
  const uint32_t v = static_cast<uint32_t>(value);
  const RegisterFile::Hit hit = regs_.bus_write(off, v);
  if (!hit) return;
  const uint32_t q = hit.index;
  if (!hit.is<RDT>() && !hit.is<TDT>()) refresh_rx_settings();  // reset() refreshes them too
  if (hit.is<CTRL>()) {
    if (v & CTRL::RST::kMask) reset();  // RST and LRST self-clear
    if (v & CTRL::LRST::kMask) {        // link reset: set-up starts again
      start_link_setup();
      update_link();
    }
    regs_.raw<CTRL>() &= ~(CTRL::RST::kMask | CTRL::LRST::kMask);
  } else if (hit.is<AUTOC>()) {
    if (v & AUTOC::AN_RESTART::kMask) {
      start_link_setup();
      regs_.raw<AUTOC>() &= ~AUTOC::AN_RESTART::kMask;
    }
    update_link();  // down while it negotiates, or in a link mode this model has no link in
  } else if (hit.is<EIMC>()) {
    regs_.raw<EIMS>() &= ~v;
  } else if (hit.is<EIMC_EX>()) {
    regs_.raw<EIMS_EX>(q) &= ~v;
  } else if (hit.is<EEC>()) {
    regs_.set_field<EEC::PRES>(1);  // read-only bits keep their value
    regs_.set_field<EEC::ARD>(1);
    regs_.set_field<EEC::ADDR_SIZE>(1);
    regs_.set_field<EEC::SIZE>(kEepromSizeField);
    regs_.set_field<EEC::GNT>(RegisterValue<EEC>(v).is_set<EEC::REQ>());  // no firmware competes
    spi_pins(v);
  } else if (hit.is<EERD>()) {
    eerd_read();
  } else if (hit.is<I2CCTL>()) {
    // The lines are open drain: the module (if any) may pull data low; no
    // device here stretches the clock.
    const RegisterValue<I2CCTL> out(v);
    const bool clock = out.is_set<I2CCTL::CLK_OUT>(), data = out.is_set<I2CCTL::DATA_OUT>();
    regs_.set_field<I2CCTL::CLK_IN>(clock);
    regs_.set_field<I2CCTL::DATA_IN>(config_.sfp_module ? sfp_.drive(clock, data) : data);
  } else if (hit.is<ESDP>()) {
    module_present_pin();
  } else if (hit.is<SW_FW_SYNC>()) {
    regs_.set_field<SW_FW_SYNC::FW>(0);  // no firmware holds anything
  } else if (hit.is<RDRXCTL>()) {
    regs_.set_field<RDRXCTL::DMAIDONE>(1);
  } else if (hit.is<RXDCTL>()) {
    if ((v & RXDCTL::ENABLE::kMask) && !check_ring("RX", q, rx_[q])) {
      regs_.raw<RXDCTL>(q) &= ~RXDCTL::ENABLE::kMask;  // stays disabled
    }
  } else if (hit.is<TXDCTL>()) {
    tx_unwritten_[q] = 0;  // a queue (re)configured starts with nothing held back
    if ((v & TXDCTL::ENABLE::kMask) && !check_ring("TX", q, tx_[q])) {
      regs_.raw<TXDCTL>(q) &= ~TXDCTL::ENABLE::kMask;
    }
  } else if ((hit.is<RDT>() || hit.is<TDT>()) && fault(IxgbeFault::kSurpriseRemoval)) {
    removed_ = true;  // gone before the doorbell took effect
  } else if (hit.is<RDT>()) {
    on_tail_write("RX", q, rx_[q], *rx_[q].ctl & RXDCTL::ENABLE::kMask);
  } else if (hit.is<TDT>()) {
    const bool on =
        (*tx_[q].ctl & TXDCTL::ENABLE::kMask) && regs_.get<DMATXCTL>().is_set<DMATXCTL::TE>();
    on_tail_write("TX", q, tx_[q], on);
    if (on) transmit(q);
  }
}

// §7.1.9 / §7.2.3.3: ring base 128-byte aligned, length a non-zero multiple of 128.
bool Ixgbe82599::check_ring(const char* dir, uint32_t q, const Ring& r) {
  const char* bad = *r.len == 0 || *r.len % 128 != 0 ? "length not a non-zero multiple of 128"
                    : r.base() % 128 != 0            ? "base not 128-byte aligned"
                                                     : nullptr;
  if (bad == nullptr) return true;
  ctx_.log->report(absl::StrFormat("82599: %s queue %d enabled with ring %s (base %#x, length %d)",
                                   dir, q, bad, r.base(), *r.len));
  return false;
}

void Ixgbe82599::on_tail_write(const char* dir, uint32_t q, Ring& r, bool enabled) {
  if (!enabled && *r.tail != *r.head) {
    ctx_.log->report(
        absl::StrFormat("82599: %s tail %d written to disabled queue %d", dir, *r.tail, q));
  } else if (r.size() != 0 && *r.tail >= r.size()) {
    ctx_.log->report(absl::StrFormat("82599: %s tail %d of queue %d is beyond its %d-entry ring",
                                     dir, *r.tail, q, r.size()));
    *r.tail = *r.head;  // ignore the write rather than run off the ring
  }
}

std::map<std::string, uint64_t> Ixgbe82599::dropped_frames() const {
  std::map<std::string, uint64_t> out;
  add_drops(out, "rx_filtered", dropped_filtered_);
  add_drops(out, "rx_link_down", dropped_link_down_);
  add_drops(out, "rx_dma_fault", rx_dma_faults_);
  add_drops(out, "tx_link_down", dropped_tx_link_down_);
  add_drops(out, "tx_dma_fault", tx_dma_faults_);
  add_drops(out, "tx_descriptor_error", tx_descriptor_errors_);
  return out;
}

void Ixgbe82599::count_tx(uint32_t q, uint32_t frames, uint64_t bytes) {
  regs_.raw<GPTC>() += frames;
  add64(regs_.raw<GOTCL>(), regs_.raw<GOTCH>(), bytes);
  const uint32_t stat = regs_.table_entry<TQSM::Q_MAP>(q);
  regs_.raw<QPTC>(stat) += frames;
  add64(regs_.raw<QBTC_L>(stat), regs_.raw<QBTC_H>(stat), bytes - uint64_t{4} * frames);  // no FCS
}

// §7.2: on a TDT write, send the descriptors from TDH to TDT.
void Ixgbe82599::transmit(uint32_t q) {
  if (tx_paused_) return;
  IxgbeFaultPlan* const faults = faults_.get();  // null (the usual case): no fault injection
  if (faults != nullptr && faults->fire(IxgbeFault::kLinkFlap)) flap_link();
  Ring& r = tx_[q];
  const uint64_t base = r.base();
  const uint32_t size = r.size();
  const bool pad = regs_.get<HLREG0>().is_set<HLREG0::TXPADEN>();
  uint32_t sent = 0;  // GPTC, GOTC and QPTC, added once at the end
  uint64_t sent_bytes = 0;
  while (*r.head != *r.tail) {
    // A faulted descriptor fetch is reported (IOMMU) and stalls the queue at
    // this descriptor; the fetch is retried at the next doorbell or progress().
    uint8_t* const desc = tx_ring_window_.get(
        *ctx_.iommu, dma_address(faults, base + uint64_t{*r.head} * kDescriptorSize),
        kDescriptorSize, "82599 TX descriptor read");
    if (desc == nullptr) {
      tx_stalled_ = true;
      break;
    }
    LayoutRef<TxRead> d(desc);
    const uint32_t cmd_type_len = d.get<TxRead::CMD_TYPE_LEN>();
    const uint32_t len = TxRead::DTALEN::extract(cmd_type_len);
    const bool eop = cmd_type_len & TxRead::EOP::kMask, rs = cmd_type_len & TxRead::RS::kMask;
    if ((cmd_type_len & TxRead::DEXT::kMask) &&
        TxRead::DTYP::extract(cmd_type_len) == TxRead::DTYP::kContext) {
      load_context(q, LayoutView<TxContext>(desc));  // no write-back
      *r.head = *r.head + 1 >= size ? 0 : *r.head + 1;
      continue;
    }
    // A frame's first descriptor says which checksums to insert and with
    // which context (§7.2.3.2.4 POPTS, CC, IDX).
    constexpr uint32_t kPopts = TxRead::IXSM::kMask | TxRead::TXSM::kMask;
    if (ABSL_PREDICT_FALSE(d.get<TxRead::OLINFO_STATUS>() & kPopts) && frame_.empty() &&
        frame_lost_ == Lost::kNo) {
      tx_offload_ = offload_of(q, d);
    }
    // One frame in one buffer (the usual case) goes from the buffer to the
    // wire without being gathered first, unless checksums go into it.
    const bool in_place = !tx_offload_.ixsm && !tx_offload_.txsm;
    absl::Span<const uint8_t> whole;
    if (!(cmd_type_len & TxRead::DEXT::kMask) ||
        TxRead::DTYP::extract(cmd_type_len) != TxRead::DTYP::kData || len == 0) {
      ctx_.log->report(absl::StrFormat(
          "82599: TX queue %d descriptor %d is not a valid advanced data descriptor "
          "(DEXT %d, DTYP %d, length %d)",
          q, *r.head, d.is_set<TxRead::DEXT>(), d.get<TxRead::DTYP>(), len));
    } else if (frame_lost_ != Lost::kNo) {
      // the rest of a frame already lost
    } else if (faults != nullptr && faults->fire(IxgbeFault::kTxDescriptorError)) {
      frame_lost_ = Lost::kDescriptorError;
    } else if (frame_.size() + len > kMaxFrame) {
      ctx_.log->report(absl::StrFormat("82599: TX queue %d frame over %d bytes", q, kMaxFrame));
      frame_.clear();
    } else if (uint8_t* buf = tx_buffer_window_.get(
                   *ctx_.iommu, dma_address(faults, d.get<TxRead::BUFFER_ADDR>()), len,
                   "82599 TX packet read");
               buf == nullptr) {
      frame_lost_ = Lost::kDma;  // reported by the IOMMU; nothing read
    } else if (eop && frame_.empty() && (len >= 60 || !pad) && in_place) {
      whole = {buf, len};
    } else {
      frame_.insert(frame_.end(), buf, buf + len);
    }
    if (eop && !in_place && frame_lost_ == Lost::kNo && !frame_.empty() &&
        !insert_checksums(q, tx_offload_, absl::MakeSpan(frame_))) {
      frame_lost_ = Lost::kDescriptorError;
    }
    if (eop && !in_place) tx_offload_ = {};
    if (eop && frame_lost_ != Lost::kNo) {
      ++(frame_lost_ == Lost::kDma ? tx_dma_faults_ : tx_descriptor_errors_);
      frame_lost_ = Lost::kNo;
      frame_.clear();
    } else if (eop && (!whole.empty() || !frame_.empty())) {
      if (whole.empty() && frame_.size() < 60 && pad) frame_.resize(60, 0);
      const absl::Span<const uint8_t> out =
          whole.empty() ? absl::Span<const uint8_t>(frame_) : whole;
      ++sent, sent_bytes += out.size() + 4;  // octets include the FCS
      if (link_up()) {
        port_.transmit(out);
      } else {
        ++dropped_tx_link_down_;
      }
      frame_.clear();
    }
    // §7.2.3.5 descriptor write-back (TXDCTL.WTHRESH): with WTHRESH 0 the
    // device writes DD back into each descriptor with RS as it is done. With
    // WTHRESH > 0 it ignores RS and writes back every descriptor, but only once
    // WTHRESH of them have piled up: a driver must not wait for the DD of the
    // descriptor it just posted.
    const uint32_t wthresh = TXDCTL::WTHRESH::extract(*r.ctl);
    if (wthresh == 0 && rs) {
      dma_write_barrier();
      LayoutRef<TxWriteBack>(desc).set<TxWriteBack::STATUS>(TxWriteBack::DD::kMask);
    }
    *r.head = *r.head + 1 >= size ? 0 : *r.head + 1;
    if (wthresh != 0 && ++tx_unwritten_[q] >= wthresh) write_back(q);
  }
  count_tx(q, sent, sent_bytes);
}

// §7.2.3.2.3: a context descriptor loads one of the queue's context slots.
void Ixgbe82599::load_context(uint32_t q, LayoutView<TxContext> c) {
  const uint32_t idx = c.get<TxContext::IDX>();
  if (idx >= kTxContexts) {
    return ctx_.log->report(absl::StrFormat(
        "82599: TX queue %d context descriptor for context %d; the 82599 has %d per queue", q, idx,
        kTxContexts));
  }
  tx_contexts_[q][idx] = {.loaded = true,
                          .maclen = c.get<TxContext::MACLEN>(),
                          .iplen = c.get<TxContext::IPLEN>(),
                          .l4t = c.get<TxContext::L4T>(),
                          .ipv4 = c.is_set<TxContext::TUCMD_IPV4>()};
}

// §7.2.3.2.4: IXSM and TXSM ask for checksums from the context CC and IDX name.
Ixgbe82599::TxOffload Ixgbe82599::offload_of(uint32_t q, LayoutView<TxRead> d) {
  TxOffload o;
  o.ixsm = d.is_set<TxRead::IXSM>();
  o.txsm = d.is_set<TxRead::TXSM>();
  if (!o.ixsm && !o.txsm) return o;
  const uint32_t idx = d.get<TxRead::IDX>();
  if (!d.is_set<TxRead::CC>() || idx >= kTxContexts || !tx_contexts_[q][idx].loaded) {
    ctx_.log->report(absl::StrFormat(
        "82599: TX queue %d descriptor %d asks for checksums (IXSM %d, TXSM %d) without a loaded "
        "context (CC %d, IDX %d)",
        q, *tx_[q].head, o.ixsm, o.txsm, d.is_set<TxRead::CC>(), idx));
    return o;  // insert_checksums() refuses it
  }
  o.context = tx_contexts_[q][idx];
  return o;
}

// The IPv4 header checksum over IPLEN bytes at MACLEN, and the TCP or UDP
// checksum from MACLEN + IPLEN to the frame's last byte, each written into
// its field (IPv4 offset 10; TCP 16, UDP 6) over what the field held: the
// driver leaves 0 in the IPv4 one and the pseudo-header's sum in the L4 one
// (docs/offloads.md). A UDP sum of 0 goes out as 0xFFFF (RFC 768).
bool Ixgbe82599::insert_checksums(uint32_t q, const TxOffload& o, absl::Span<uint8_t> f) {
  const TxContextSlot& c = o.context;
  const size_t l3 = c.maclen, l4 = size_t{c.maclen} + c.iplen;
  const size_t l4_field = l4 + (c.l4t == TxContext::L4T::kTcp ? 16 : 6);
  if (!c.loaded) return false;  // offload_of() reported it
  std::string problem;
  if (c.maclen < 14 || l4 > f.size() || (o.txsm && l4_field + 2 > f.size())) {
    problem = absl::StrFormat("MACLEN %d + IPLEN %d do not fit a %d-byte frame", c.maclen, c.iplen,
                              f.size());
  } else if (o.ixsm && (!c.ipv4 || c.iplen < 20)) {
    problem = absl::StrFormat("IXSM with TUCMD.IPV4 %d and IPLEN %d", c.ipv4, c.iplen);
  } else if (o.txsm && c.l4t > TxContext::L4T::kTcp) {
    problem = absl::StrFormat("TXSM with L4T %d (this model inserts TCP and UDP checksums)", c.l4t);
  }
  if (!problem.empty()) {
    ctx_.log->report(absl::StrFormat("82599: TX queue %d checksum offload: %s", q, problem));
    return false;
  }
  auto put = [&](size_t at, uint16_t v) {
    f[at] = static_cast<uint8_t>(v >> 8), f[at + 1] = static_cast<uint8_t>(v);
  };
  if (o.ixsm) put(l3 + 10, static_cast<uint16_t>(~ones_complement_sum(f.data() + l3, c.iplen)));
  if (o.txsm) {
    uint16_t sum = static_cast<uint16_t>(~ones_complement_sum(f.data() + l4, f.size() - l4));
    if (c.l4t == TxContext::L4T::kUdp && sum == 0) sum = 0xFFFF;
    put(l4_field, sum);
  }
  return true;
}

// Writes DD into the tx_unwritten_[q] descriptors before TDH, oldest first.
void Ixgbe82599::write_back(uint32_t q) {
  Ring& r = tx_[q];
  dma_write_barrier();
  for (uint32_t k = tx_unwritten_[q]; k > 0; --k) {
    const uint32_t i = (*r.head + r.size() - k) % r.size();
    auto desc = ctx_.iommu->translate(r.base() + uint64_t{i} * kDescriptorSize, kDescriptorSize,
                                      "82599 TX descriptor write-back");
    if (desc.ok())
      LayoutRef<TxWriteBack>(desc->data()).set<TxWriteBack::STATUS>(TxWriteBack::DD::kMask);
  }
  tx_unwritten_[q] = 0;
}

}  // namespace safenic::sim
