// ixgbe: the Intel 82599 driver's bring-up, link, statistics and teardown.
// Init follows the datasheet (rev 3.3) §4.6.3; the data path is in
// datapath.cc.
#include "nic/ixgbe/device.h"

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/ixgbe.h"
#include "nic/ixgbe/regs.h"
#include "nic/open.h"
#include "nic/rss.h"

namespace safenic::ixgbe {
namespace detail {
namespace {

// RSS redirection entries are 4 bits: 16 RX queues. §7.1.9: a ring is a
// multiple of 128 bytes (8 descriptors); safenic uses 64 to 4096.
constexpr DeviceCapabilities kCapabilities = {
    .offloads = {Offload::kRxChecksum, Offload::kTxL4Checksum, Offload::kTxIpv4Checksum,
                 Offload::kRxRssHash},
    .max_mtu = kJumboMtu};
constexpr DeviceLimits kLimits = {"ixgbe", kMaxRxQueues, kMaxTxQueues, 64, 4096, kCapabilities};

}  // namespace
}  // namespace detail

using detail::IxgbeDevice;

// The 82599 family's device ids and names, as the PCI ID repository (pci.ids)
// lists them; Linux's ixgbe takes the same ids for its 82599 MAC type.
constexpr SupportedDevice kDevices[] = {
    {{0x8086, 0x10F7}, "Intel 82599 10 GbE (KX4)"},
    {{0x8086, 0x10F8}, "Intel 82599 10 GbE (backplane)"},
    {{0x8086, 0x10F9}, "Intel 82599 10 GbE (CX4)"},
    {{0x8086, 0x10FB}, "Intel 82599ES 10 GbE (SFI/SFP+)"},
    {{0x8086, 0x10FC}, "Intel 82599 10 GbE (XAUI)"},
    {{0x8086, 0x1514}, "Intel 82599 10 GbE (KX4 mezzanine)"},
    {{0x8086, 0x1517}, "Intel 82599 10 GbE (KR)"},
    {{0x8086, 0x151C}, "Intel 82599 10 GbE (10GBASE-T)"},
    {{0x8086, 0x154D}, "Intel 82599 10 GbE (SFP+, X520)"},
    {{0x8086, 0x1557}, "Intel 82599EN 10 GbE (SFP+)"},
};

bool supports(PciId id) { return takes(kDevices, id); }

absl::StatusOr<std::unique_ptr<Device>> open(std::unique_ptr<PciFunction> fn,
                                             const DeviceConfig& config) {
  SAFENIC_RETURN_IF_ERROR(validate(config, detail::kLimits));
  if (!supports(fn->id())) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %04x:%04x is not an 82599", fn->name(),
                                                      fn->id().vendor, fn->id().device));
  }
  SAFENIC_ASSIGN_OR_RETURN(auto bar, fn->bar(0));
  if (bar->size() < kBar0Size) {
    return absl::FailedPreconditionError(absl::StrFormat("%s: BAR0 is %d bytes; an 82599 has %d",
                                                         fn->name(), bar->size(), kBar0Size));
  }
  auto dev = std::make_unique<IxgbeDevice>(std::move(fn), *bar, config);
  SAFENIC_RETURN_IF_ERROR(dev->init());
  return dev;
}

namespace detail {

template <typename Done>
absl::Status IxgbeDevice::wait_until(Done done, absl::Duration timeout, absl::string_view what) {
  const absl::Time deadline = fn_->now() + timeout;
  while (!done()) {
    if (fn_->now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrFormat("%s: %s did not happen within %s; the device may be hung or absent",
                          name(), what, absl::FormatDuration(timeout)));
    }
    fn_->sleep(absl::Milliseconds(1));
  }
  return absl::OkStatus();
}

// §4.6.3.1-§4.6.3.2: mask interrupts, global reset, wait for the EEPROM
// auto-read and DMA init, mask again.
absl::Status IxgbeDevice::reset() {
  if (bar_.read<STATUS>().raw() == 0xFFFFFFFF) {
    return absl::UnavailableError(absl::StrFormat(
        "%s: registers read all ones; the device is gone or not powered (check lspci)", name()));
  }
  bar_.write(RegisterValue<EIMC>().set<EIMC::CAUSES>(EIMC::CAUSES::kMax));
  bar_.write(RegisterValue<CTRL>().set<CTRL::RST>().set<CTRL::LRST>());
  absl::Status s = wait_until([&] { return !bar_.read<CTRL>().is_set<CTRL::RST>(); },
                              absl::Seconds(1), "CTRL.RST self-clearing after reset");
  if (!s.ok()) return s;
  fn_->sleep(absl::Milliseconds(10));  // §4.6.3.2: wait 10 ms after reset
  bar_.write(RegisterValue<EIMC>().set<EIMC::CAUSES>(EIMC::CAUSES::kMax));
  (void)bar_.read<EICR>();
  s = wait_until([&] { return bar_.read<EEC>().is_set<EEC::ARD>(); }, absl::Seconds(1),
                 "EEPROM auto-read (EEC.ARD)");
  if (!s.ok()) return s;
  return wait_until([&] { return bar_.read<RDRXCTL>().is_set<RDRXCTL::DMAIDONE>(); },
                    absl::Seconds(1), "DMA init done (RDRXCTL.DMAIDONE)");
}

// §4.6.4: 10G serial link mode, then restart auto-negotiation; the link comes
// up later (wait_for_link).
void IxgbeDevice::init_link() {
  bar_.modify<AUTOC>([](RegisterValue<AUTOC>& v) {
    v.set<AUTOC::LMS, AUTOC::LMS::k10gSerial>()
        .set<AUTOC::PMA_PMD_10G, AUTOC::PMA_PMD_10G::kXaui>();
  });
  bar_.modify<AUTOC>([](RegisterValue<AUTOC>& v) { v.set<AUTOC::AN_RESTART>(); });
}

absl::Status IxgbeDevice::init() {
  SAFENIC_RETURN_IF_ERROR(reset());
  const uint32_t ral = bar_.read<RAL>(0).raw();
  const uint32_t rah = bar_.read<RAH>(0).get<RAH::RAH_BYTES>();
  for (int i = 0; i < 4; ++i) mac_.bytes[i] = static_cast<uint8_t>(ral >> (8 * i));
  mac_.bytes[4] = static_cast<uint8_t>(rah);
  mac_.bytes[5] = static_cast<uint8_t>(rah >> 8);
  init_link();
  (void)stats();  // statistics are clear-on-read: start from zero (§4.6.3 step 7)
  counters_.clear();
  SAFENIC_RETURN_IF_ERROR(init_rx());
  SAFENIC_RETURN_IF_ERROR(init_tx());
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    SAFENIC_RETURN_IF_ERROR(start_rx_queue(q));
  }
  // §4.6.7: the receive path last, once every queue is enabled and has
  // descriptors (a frame for a queue not yet enabled would be dropped).
  bar_.modify<RXCTRL>([](RegisterValue<RXCTRL>& v) { v.set<RXCTRL::RXEN>(); });
  for (uint32_t q = 0; q < tx_.size(); ++q) {
    SAFENIC_RETURN_IF_ERROR(start_tx_queue(q));
  }
  started_ = true;
  return set_promiscuous(config_.promiscuous);
}

// §4.6.7 receive initialization.
absl::Status IxgbeDevice::init_rx() {
  bar_.modify<RXCTRL>([](RegisterValue<RXCTRL>& v) { v.clear<RXCTRL::RXEN>(); });
  // One 128 KiB packet buffer (no DCB or virtualization).
  bar_.write(RegisterValue<RXPBSIZE>().set<RXPBSIZE::SIZE_KB, 128>(), 0);
  for (uint32_t i = 1; i < RXPBSIZE::kCount; ++i) bar_.write(RegisterValue<RXPBSIZE>(), i);
  bar_.modify<HLREG0>([](RegisterValue<HLREG0>& v) { v.set<HLREG0::RXCRCSTRP>(); });
  // §8.2.3.22: frames longer than 1518 bytes (with the CRC) only with
  // JUMBOEN, up to MAXFRS.MFS (a tagged frame 4 more), as Linux's ixgbe
  // sets them for an MTU above 1500.
  const uint32_t mfs = config_.mtu + kEthernetHeader + 4;  // + the CRC
  bar_.write(RegisterValue<MAXFRS>().set<MAXFRS::MFS>(std::max(mfs, kMaxFrameStandard)));
  if (mfs > kMaxFrameStandard) {
    bar_.modify<HLREG0>([](RegisterValue<HLREG0>& v) { v.set<HLREG0::JUMBOEN>(); });
  }
  bar_.modify<RDRXCTL>([](RegisterValue<RDRXCTL>& v) { v.set<RDRXCTL::CRCSTRIP>(); });
  bar_.modify<FCTRL>([](RegisterValue<FCTRL>& v) { v.set<FCTRL::BAM>(); });
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    bar_.write(RegisterValue<SRRCTL>()
                   .set<SRRCTL::DESCTYPE, SRRCTL::DESCTYPE::kAdvancedOneBuffer>()
                   .set<SRRCTL::DROP_EN>()  // a full queue drops, counted in QPRDC
                   .set<SRRCTL::BSIZEPACKET>(rx_buffer_size(config_.mtu) / 1024),
               q);
    MempoolConfig pc;
    pc.buffers = config_.buffers_per_rx_queue;
    pc.data_room = rx_buffer_size(config_.mtu);
    pc.tag = absl::StrFormat("%s rx%d buffers", name(), q);
    SAFENIC_ASSIGN_OR_RETURN(auto pool, Mempool::create(pc, fn_->dma()));
    SAFENIC_ASSIGN_OR_RETURN(
        auto ring, DescriptorRing::create(fn_->dma(), config_.rx_ring_size, kDescriptorSize,
                                          absl::StrFormat("%s rx%d ring", name(), q)));
    rx_[q].pool = std::move(pool);
    rx_[q].ring = std::move(ring);
    const uint64_t base = rx_[q].ring.iova();
    bar_.write(RegisterValue<RDBAL>(static_cast<uint32_t>(base)), q);
    bar_.write(RegisterValue<RDBAH>(static_cast<uint32_t>(base >> 32)), q);
    bar_.write(RegisterValue<RDLEN>(rx_[q].ring.bytes()), q);
    bar_.write(RegisterValue<RDH>(0), q);
  }
  // One queue: RSS only to hash (the table sends everything to queue 0).
  if (rx_.size() > 1 || config_.offloads.has(Offload::kRxRssHash)) init_rss();
  // Queue q's drops count in QPRDC(q) only once RQSMR maps q to statistics
  // q (its reset, 0, sends every queue to statistics 0). Up to 16 queues:
  // one statistics set each.
  bar_.write_table<RQSMR::Q_MAP>(static_cast<uint32_t>(rx_.size()), [](uint32_t q) { return q; });
  // §7.1.6.2: with RXCSUM.PCSD the write-back's second dword is the RSS hash;
  // without it, the fragment checksum, which this driver never uses (Linux's
  // and DPDK's 82599 drivers set PCSD too).
  bar_.modify<RXCSUM>([](RegisterValue<RXCSUM>& v) { v.set<RXCSUM::PCSD>(); });
  bar_.modify<CTRL_EXT>([](RegisterValue<CTRL_EXT>& v) { v.set<CTRL_EXT::NS_DIS>(); });
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    bar_.modify<DCA_RXCTRL>(
        [](RegisterValue<DCA_RXCTRL>& v) { v.clear<DCA_RXCTRL::RESERVED_12>(); }, q);
  }
  return absl::OkStatus();  // RXCTRL.RXEN once the queues run (init())
}

// §7.1.2.8: RSS over IPv4 and TCP/UDP ports; the redirection table deals the
// 128 entries round-robin to the RX queues.
void IxgbeDevice::init_rss() {
  static_assert(sizeof kRssKey == RSSRK::kKeyBytes);
  bar_.write_table<RSSRK::K>(RSSRK::kKeyBytes, [](uint32_t b) { return kRssKey[b]; });
  const uint32_t queues = static_cast<uint32_t>(rx_.size());
  bar_.write_table<RETA::ENTRY>(RETA::kEntries, [queues](uint32_t e) { return e % queues; });
  bar_.write(RegisterValue<MRQC>()
                 .set<MRQC::MRQE, MRQC::MRQE::kRss>()
                 .set<MRQC::IPV4>()
                 .set<MRQC::TCP_IPV4>()
                 .set<MRQC::UDP_IPV4>());
}

// §4.6.8 transmit initialization.
absl::Status IxgbeDevice::init_tx() {
  bar_.modify<HLREG0>(
      [](RegisterValue<HLREG0>& v) { v.set<HLREG0::TXCRCEN>().set<HLREG0::TXPADEN>(); });
  bar_.write(RegisterValue<TXPBSIZE>().set<TXPBSIZE::SIZE_KB, 40>(), 0);
  for (uint32_t i = 1; i < TXPBSIZE::kCount; ++i) bar_.write(RegisterValue<TXPBSIZE>(), i);
  bar_.write(RegisterValue<DTXMXSZRQ>().set<DTXMXSZRQ::MAX_BYTES_NUM_REQ, 0xFFF>());
  bar_.modify<RTTDCS>([](RegisterValue<RTTDCS>& v) { v.clear<RTTDCS::ARBDIS>(); });
  for (uint32_t q = 0; q < tx_.size(); ++q) {
    SAFENIC_ASSIGN_OR_RETURN(
        auto ring, DescriptorRing::create(fn_->dma(), config_.tx_ring_size, kDescriptorSize,
                                          absl::StrFormat("%s tx%d ring", name(), q)));
    tx_[q].ring = std::move(ring);
    const uint64_t base = tx_[q].ring.iova();
    bar_.write(RegisterValue<TDBAL>(static_cast<uint32_t>(base)), q);
    bar_.write(RegisterValue<TDBAH>(static_cast<uint32_t>(base >> 32)), q);
    bar_.write(RegisterValue<TDLEN>(tx_[q].ring.bytes()), q);
    // Prefetch thresholds as DPDK and ixy use them. WTHRESH 0 (§7.2.3.5): the
    // device writes DD into each descriptor with RS (every one here) as it
    // completes. With WTHRESH n > 0 it would ignore RS and hold write-backs
    // until n descriptors piled up, so the last few of a burst could not be
    // reclaimed until more traffic came, and a full ring would stay short of
    // free descriptors (the model holds them back so, as hardware may).
    bar_.write(RegisterValue<TXDCTL>()
                   .set<TXDCTL::PTHRESH, 36>()
                   .set<TXDCTL::HTHRESH, 8>()
                   .set<TXDCTL::WTHRESH, 0>(),
               q);
  }
  bar_.write(RegisterValue<DMATXCTL>().set<DMATXCTL::TE>());
  return absl::OkStatus();
}

// §4.6.7.1: post a buffer in every descriptor, enable, then hand the ring to
// the device (all but one descriptor: RDT trails the last one processed).
absl::Status IxgbeDevice::start_rx_queue(uint32_t q) {
  RxQueue& rq = rx_[q];
  for (uint32_t i = 0; i < rq.ring.size(); ++i) {
    Packet p = rq.pool->alloc();
    if (p.empty()) {
      return absl::ResourceExhaustedError(absl::StrFormat("%s: RX pool %d ran dry", name(), q));
    }
    LayoutRef<RxRead>(rq.ring.descriptor(i))
        .set<RxRead::PKT_ADDR>(p.iova())
        .set<RxRead::HDR_ADDR>(0);
    rq.ring.slot(i) = std::move(p);
  }
  bar_.modify<RXDCTL>([](RegisterValue<RXDCTL>& v) { v.set<RXDCTL::ENABLE>(); }, q);
  absl::Status s = wait_until([&] { return bar_.read<RXDCTL>(q).is_set<RXDCTL::ENABLE>(); },
                              absl::Seconds(1), absl::StrFormat("RX queue %d enable", q));
  if (!s.ok()) return s;
  bar_.write(RegisterValue<RDT>(rq.ring.size() - 1), q);
  return absl::OkStatus();
}

// §4.6.8.1: an empty ring (TDH = TDT = 0), then enable.
absl::Status IxgbeDevice::start_tx_queue(uint32_t q) {
  bar_.write(RegisterValue<TDH>(0), q);
  bar_.write(RegisterValue<TDT>(0), q);
  bar_.modify<TXDCTL>([](RegisterValue<TXDCTL>& v) { v.set<TXDCTL::ENABLE>(); }, q);
  return wait_until([&] { return bar_.read<TXDCTL>(q).is_set<TXDCTL::ENABLE>(); }, absl::Seconds(1),
                    absl::StrFormat("TX queue %d enable", q));
}

// Stops the queues before the rings and buffers they point at are freed.
void IxgbeDevice::stop() {
  if (!started_) return;
  started_ = false;
  bar_.modify<RXCTRL>([](RegisterValue<RXCTRL>& v) { v.clear<RXCTRL::RXEN>(); });
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    bar_.modify<RXDCTL>([](RegisterValue<RXDCTL>& v) { v.clear<RXDCTL::ENABLE>(); }, q);
  }
  for (uint32_t q = 0; q < tx_.size(); ++q) {
    bar_.modify<TXDCTL>([](RegisterValue<TXDCTL>& v) { v.clear<TXDCTL::ENABLE>(); }, q);
  }
  fn_->sleep(absl::Milliseconds(1));  // let in-flight DMA finish
}

IxgbeDevice::~IxgbeDevice() {
  stop();
  for (RxQueue& rq : rx_) rq.ring.release_packets();
  for (TxQueue& tq : tx_) tq.ring.release_packets();
}

LinkStatus IxgbeDevice::link() {
  const RegisterValue<LINKS> links = bar_.read<LINKS>();
  // All ones: the device is gone (surprise removal), not "up at 10G".
  if (!links.is_set<LINKS::LINK_UP>() || links.raw() == 0xFFFFFFFF) return {};
  static constexpr uint32_t kSpeeds[] = {0, 100, 1000, 10000};
  return {true, kSpeeds[links.get<LINKS::LINK_SPEED>()]};
}

absl::Status IxgbeDevice::set_promiscuous(bool on) {
  bar_.modify<FCTRL>([on](RegisterValue<FCTRL>& v) {
    if (on) {
      v.set<FCTRL::UPE>().set<FCTRL::MPE>();
    } else {
      v.clear<FCTRL::UPE>().clear<FCTRL::MPE>();
    }
  });
  config_.promiscuous = on;
  return absl::OkStatus();
}

absl::StatusOr<DeviceStats> IxgbeDevice::stats() {
  // Counters of a device that left the bus read all ones: not numbers to add.
  if (bar_.read<STATUS>().raw() == 0xFFFFFFFF) {
    return absl::UnavailableError(absl::StrFormat(
        "%s: registers read all ones; the device was removed or lost power (check lspci); "
        "close it, then reopen it once it is back",
        name()));
  }
  auto add = [&](const char* name, uint64_t v) { counters_[name] += v; };
  add("GPRC", bar_.read<GPRC>().raw());
  add("GPTC", bar_.read<GPTC>().raw());
  const uint64_t gorc = bar_.read<GORCL>().raw();
  add("GORC", gorc | uint64_t{bar_.read<GORCH>().raw()} << 32);
  const uint64_t gotc = bar_.read<GOTCL>().raw();
  add("GOTC", gotc | uint64_t{bar_.read<GOTCH>().raw()} << 32);
  // Good frames before the address filter: GPRC + MPC + the frames filtered out.
  add("RXNFGPC", bar_.read<RXNFGPC>().raw());
  const uint64_t rxnfgbc = bar_.read<RXNFGBCL>().raw();
  add("RXNFGBC", rxnfgbc | uint64_t{bar_.read<RXNFGBCH>().raw()} << 32);
  add("CRCERRS", bar_.read<CRCERRS>().raw());
  add("RUC", bar_.read<RUC>().raw());  // undersize frames, dropped
  add("ROC", bar_.read<ROC>().raw());  // oversize frames, dropped
  add("RLEC", bar_.read<RLEC>().raw());
  uint64_t missed = 0;
  for (uint32_t i = 0; i < MPC::kCount; ++i) missed += bar_.read<MPC>(i).raw();
  add("MPC", missed);
  DeviceStats s;
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    (void)bar_.read<QPRC>(q);  // the driver counts packets itself; keep QPRC from wrapping
    rx_[q].stats.drops += bar_.read<QPRDC>(q).raw();
    s.rx.push_back(rx_[q].stats);
  }
  for (TxQueue& tq : tx_) s.tx.push_back(tq.stats);
  s.counters = counters_;
  return s;
}
DeviceCapabilities IxgbeDevice::capabilities() const { return kCapabilities; }

}  // namespace detail

namespace {
const bool kRegistered = register_driver({"ixgbe", "Intel 82599", kDevices, open});
}  // namespace

}  // namespace safenic::ixgbe
