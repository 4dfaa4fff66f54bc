// ixgbe: the Intel 82599 driver. Init follows the datasheet (rev 3.3) §4.6.3;
// the data path is ixy's: one doorbell per batch, RS on every TX descriptor,
// TX buffers cleaned 32 at a time.
#include "nic/ixgbe/ixgbe.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "mem/status.h"
#include "nic/checksum.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/ixgbe/regs.h"
#include "nic/open.h"
#include "nic/ring.h"

namespace safenic::ixgbe {
namespace {

constexpr uint32_t kTxCleanBatch = 32;
constexpr uint32_t kMaxRxQueues = 16;  // RSS redirection entries are 4 bits
constexpr uint32_t kMaxTxQueues = 64;
constexpr uint32_t kRxBufferSize = 2048;
// The RSS key of Microsoft's RSS specification (its verification suite's).
constexpr uint8_t kRssKey[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                                 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                                 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                                 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

struct RxQueue {
  MempoolPtr pool;  // declared first: outlives the packets in `ring`
  DescriptorRing ring;
  uint32_t next = 0;        // next descriptor to look at
  bool discarding = false;  // dropping the rest of a frame that did not fit
  QueueStats stats;
};

struct TxQueue {
  DescriptorRing ring;
  uint32_t clean = 0;  // oldest descriptor not yet cleaned
  uint32_t tail = 0;   // next descriptor to fill
  QueueStats stats;
  // Offload::kTxChecksum: the header layout context 0 holds (context_key()),
  // 0 before the first context descriptor.
  uint32_t context = 0;
};

class IxgbeDevice final : public Device {
 public:
  IxgbeDevice(std::unique_ptr<PciFunction> fn, Bar& bar, const DeviceConfig& config)
      : Device(config.rx_queues, config.tx_queues),
        fn_(std::move(fn)),
        bar_(bar),
        config_(config),
        rx_(config.rx_queues),
        tx_(config.tx_queues) {
    watch_removal(fn_->removal_requested());
  }
  ~IxgbeDevice() override;

  absl::Status init();
  absl::string_view driver() const override { return "ixgbe"; }
  std::string name() const override { return fn_->name(); }
  MacAddress mac() const override { return mac_; }
  LinkStatus link() override;
  absl::StatusOr<DeviceStats> stats() override;
  absl::Status set_promiscuous(bool on) override;
  DeviceCapabilities capabilities() const override;

 protected:
  size_t receive(uint16_t queue, PacketBatch& batch) override {
    return config_.offloads.has(Offload::kRxChecksum) ? receive_in<true>(queue, batch)
                                                      : receive_in<false>(queue, batch);
  }
  size_t transmit(uint16_t queue, PacketBatch& batch) override {
    return config_.offloads.has(Offload::kTxChecksum) ? transmit_checksums(queue, batch)
                                                      : transmit_plain(queue, batch);
  }
  size_t reclaim(uint16_t queue) override {
    TxQueue& tq = tx_[queue];
    const uint32_t before = tq.clean;
    clean_tx(tq, tq.ring.size());  // as if the whole ring were wanted: every done descriptor
    return tq.ring.distance(before, tq.clean);
  }
  const DmaAllocator& dma() const override { return fn_->dma(); }
  absl::Time now() override { return fn_->now(); }
  void sleep(absl::Duration d) override { fn_->sleep(d); }

 private:
  // Polls until `done()` or `timeout`; the error names what did not happen.
  template <typename Done>
  absl::Status wait_until(Done done, absl::Duration timeout, absl::string_view what);
  absl::Status reset();
  void init_link();
  absl::Status init_rx();
  absl::Status init_tx();
  absl::Status start_rx_queue(uint32_t q);
  absl::Status start_tx_queue(uint32_t q);
  void init_rss();
  void stop();
  void clean_tx(TxQueue& tq, size_t wanted);
  // receive(), with or without the checksum verdicts (one loop each: no
  // per-packet test when they are off).
  template <bool kChecksums>
  size_t receive_in(uint16_t queue, PacketBatch& batch);
  // transmit() without offloads, and with Offload::kTxChecksum.
  size_t transmit_plain(uint16_t queue, PacketBatch& batch);
  size_t transmit_checksums(uint16_t queue, PacketBatch& batch);

  std::unique_ptr<PciFunction> fn_;
  Bar& bar_;
  DeviceConfig config_;
  MacAddress mac_;
  std::vector<RxQueue> rx_;
  std::vector<TxQueue> tx_;
  std::map<std::string, uint64_t> counters_;
  bool started_ = false;
};

// RSS redirection entries are 4 bits: 16 RX queues. §7.1.9: a ring is a
// multiple of 128 bytes (8 descriptors); safenic uses 64 to 4096.
constexpr DeviceCapabilities kCapabilities = {
    .offloads = {Offload::kRxChecksum, Offload::kTxChecksum}};
constexpr DeviceLimits kLimits = {"ixgbe", kMaxRxQueues, kMaxTxQueues, 64, 4096, kCapabilities};

// A data descriptor carries 1 to DTALEN::kMax bytes (§7.2.3.2.4): a frame
// of one buffer is sent only if its length is in that range.
bool fits_one_descriptor(uint32_t len) { return len - 1 < TxRead::DTALEN::kMax; }

// §7.2.3.2.4: one data descriptor holding a whole frame of `len` bytes at
// `iova`, FCS inserted, DD written back; `olinfo` its OLINFO_STATUS word.
inline void write_data_descriptor(uint8_t* d, uint64_t iova, uint32_t len, uint32_t olinfo) {
  LayoutRef<TxRead>(d)
      .set<TxRead::BUFFER_ADDR>(iova)
      .set<TxRead::CMD_TYPE_LEN>(len | TxRead::DTYP::insert(0, TxRead::DTYP::kData) |
                                 TxRead::EOP::kMask | TxRead::IFCS::kMask | TxRead::RS::kMask |
                                 TxRead::DEXT::kMask)
      .set<TxRead::OLINFO_STATUS>(olinfo);
}

// What a context descriptor for request `r` holds (§7.2.3.2.3), as one
// number to compare with the queue's loaded one; never 0.
uint32_t context_key(const ChecksumRequest& r) {
  return uint32_t{r.l2} | uint32_t{r.l3} << 8 | uint32_t{r.ipv4} << 24 |
         uint32_t{r.l4_proto == 6} << 25 | 1u << 31;
}

// A known 82599 erratum: L4E on a UDP datagram may mean it has no checksum
// (field 0, which IPv4 allows: RFC 768) rather than a wrong one. Only then is
// the frame read, to tell which.
bool udp_without_checksum(const Packet& p) {
  const absl::Span<const uint8_t> f = p.bytes();
  auto be16 = [&](size_t at) { return static_cast<uint16_t>(f[at] << 8 | f[at + 1]); };
  if (f.size() < 14) return false;
  size_t l3 = 14;
  uint16_t type = be16(12);
  if (type == 0x8100 && f.size() >= 18) type = be16(16), l3 = 18;
  if (type != 0x0800 || f.size() < l3 + 20) return false;
  const size_t l4 = l3 + size_t{f[l3] & 0xFu} * 4;
  return f.size() >= l4 + 8 && be16(l4 + 6) == 0;
}

// §7.1.6.2: a write-back's checksum bits as RxFlags. The error bits count only
// with their "computed" bits; a UDP L4E, only when the datagram has a checksum.
uint8_t checksum_flags(uint32_t status, const Packet& p) {
  uint8_t flags = 0;
  if (status & RxWriteBack::IPCS::kMask) {
    flags |= (status & RxWriteBack::IPE::kMask) ? kRxIpChecksumBad : kRxIpChecksumGood;
  }
  if (status & RxWriteBack::L4CS::kMask) {
    if (!(status & RxWriteBack::L4E::kMask)) {
      flags |= kRxL4ChecksumGood;
    } else if (!(status & RxWriteBack::UDPCS::kMask) || !udp_without_checksum(p)) {
      flags |= kRxL4ChecksumBad;
    }
  }
  return flags;
}

}  // namespace

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
  SAFENIC_RETURN_IF_ERROR(validate(config, kLimits));
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
  bar_.modify<RDRXCTL>([](RegisterValue<RDRXCTL>& v) { v.set<RDRXCTL::CRCSTRIP>(); });
  bar_.modify<FCTRL>([](RegisterValue<FCTRL>& v) { v.set<FCTRL::BAM>(); });
  for (uint32_t q = 0; q < rx_.size(); ++q) {
    bar_.write(RegisterValue<SRRCTL>()
                   .set<SRRCTL::DESCTYPE, SRRCTL::DESCTYPE::kAdvancedOneBuffer>()
                   .set<SRRCTL::DROP_EN>()  // a full queue drops, counted in QPRDC
                   .set<SRRCTL::BSIZEPACKET>(kRxBufferSize / 1024),
               q);
    MempoolConfig pc;
    pc.buffers = config_.buffers_per_rx_queue;
    pc.data_room = kRxBufferSize;
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
  if (rx_.size() > 1) init_rss();
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

// The RX fast path: no MMIO but the one RDT write per batch. It counts the
// frames the device has written back, takes that many fresh buffers from the
// pool at once (into the batch), and swaps each with its descriptor's frame.
template <bool kChecksums>
size_t IxgbeDevice::receive_in(uint16_t q, PacketBatch& batch) {
  RxQueue& rq = rx_[q];
  uint8_t* const descriptors = rq.ring.descriptors();
  Packet* const slots = rq.ring.slots();
  const uint32_t mask = rq.ring.mask();
  uint8_t* const ring_end = descriptors + (size_t{mask} + 1) * kDescriptorSize;
  auto next = [&](uint8_t* d) {
    d += kDescriptorSize;
    return ABSL_PREDICT_FALSE(d == ring_end) ? descriptors : d;
  };
  // Counts the write-backs with DD set (a pointer walk: this is per packet).
  const size_t room = std::min<size_t>(batch.room(), mask);
  uint8_t* const first = descriptors + size_t{rq.next} * kDescriptorSize;
  size_t ready = 0;
  for (uint8_t* d = first; ready < room && LayoutRef<RxWriteBack>(d).is_set<RxWriteBack::DD>();
       d = next(d)) {
    ++ready;
  }
  if (ready == 0) return 0;
  dma_read_barrier();                                  // the rest of each write-back after its DD
  const size_t n = rq.pool->alloc_bulk(batch, ready);  // frames beyond n wait for buffers
  Packet* const out = batch.end() - n;
  uint32_t i = rq.next;
  uint8_t* d = first;
  uint64_t bytes = 0;
  size_t dropped = 0;
  bool discarding = rq.discarding;
  for (size_t k = 0; k < n; ++k, i = (i + 1) & mask, d = next(d)) {
    LayoutRef<RxWriteBack> wb(d);
    const uint32_t status = wb.get<RxWriteBack::STATUS_ERROR>();
    constexpr uint32_t kCheck = RxWriteBack::EOP::kMask | RxWriteBack::RXE::kMask;
    slots[i].swap(out[k]);  // the fresh buffer takes the descriptor, the frame goes up
    if (ABSL_PREDICT_TRUE((status & kCheck) == RxWriteBack::EOP::kMask && !discarding &&
                          out[k].try_resize(wb.get<RxWriteBack::LENGTH>()))) {
      bytes += out[k].size();
      if constexpr (kChecksums) out[k].offloads().rx = checksum_flags(status, out[k]);
    } else {
      // A frame in error, longer than one buffer, or with an impossible
      // length: drop all of it and count it once.
      discarding = !(status & RxWriteBack::EOP::kMask);
      rq.stats.errors += !discarding;
      out[k].reset();
      ++dropped;
    }
    LayoutRef<RxRead>(d)
        .set<RxRead::PKT_ADDR>(slots[i].iova())
        .set<RxRead::HDR_ADDR>(0);  // also clears DD
  }
  if (n == 0) return 0;
  rq.discarding = discarding;
  rq.next = i;
  bar_.write(RegisterValue<RDT>((i - 1) & mask), q);  // trails the last one processed
  if (ABSL_PREDICT_FALSE(dropped != 0)) batch.compact();
  rq.stats.packets += n - dropped;
  rq.stats.bytes += bytes;
  return n - dropped;
}

// Frees the buffers of sent packets, 32 descriptors at a time, checking DD of
// each group's last descriptor only; when that leaves less room than `wanted`,
// it also frees a trailing partial group one descriptor at a time.
void IxgbeDevice::clean_tx(TxQueue& tq, size_t wanted) {
  DescriptorRing& ring = tq.ring;
  auto done = [&](uint32_t i) {
    // A context descriptor's slot holds no packet and gets no write-back;
    // the data descriptor right after it (posted with it) does.
    if (ABSL_PREDICT_FALSE(ring.slot(i).empty())) i = ring.next(i);
    return LayoutRef<TxWriteBack>(ring.descriptor(i)).is_set<TxWriteBack::DD>();
  };
  while (ring.distance(tq.clean, tq.tail) >= kTxCleanBatch) {
    const uint32_t last = ring.advance(tq.clean, kTxCleanBatch - 1);
    if (!done(last)) break;
    if (last > tq.clean) {
      Packet::reset_all({&ring.slot(tq.clean), kTxCleanBatch});
    } else {  // the group wraps around the end of the ring
      Packet::reset_all({&ring.slot(tq.clean), ring.size() - tq.clean});
      Packet::reset_all({&ring.slot(0), last + 1});
    }
    tq.clean = ring.next(last);
  }
  while (ring.size() - 1 - ring.distance(tq.clean, tq.tail) < wanted && tq.clean != tq.tail &&
         done(tq.clean)) {
    ring.slot(tq.clean).reset();
    tq.clean = ring.next(tq.clean);
  }
}

// The TX fast path: descriptors for as many packets as fit, one TDT write.
size_t IxgbeDevice::transmit_plain(uint16_t q, PacketBatch& batch) {
  TxQueue& tq = tx_[q];
  clean_tx(tq, batch.size());
  uint8_t* const descriptors = tq.ring.descriptors();
  Packet* const slots = tq.ring.slots();
  const uint32_t mask = tq.ring.mask();
  const uint32_t free_slots = mask - tq.ring.distance(tq.clean, tq.tail);
  const size_t n = std::min<size_t>(batch.size(), free_slots);
  Packet* const packets = batch.begin();
  uint32_t tail = tq.tail;
  uint64_t bytes = 0;
  for (size_t k = 0; k < n; ++k) {
    Packet& p = packets[k];
    const uint32_t len = static_cast<uint32_t>(p.size());
    if (ABSL_PREDICT_FALSE(!fits_one_descriptor(len))) {  // 0 or too long
      ++tq.stats.errors;                                  // nothing to send: dropped and counted
      p.reset();
      continue;
    }
    write_data_descriptor(descriptors + size_t{tail} * kDescriptorSize, p.iova(), len,
                          TxRead::PAYLEN::insert(0, len));
    slots[tail].swap(p);  // the slot was cleaned: p is left empty
    tail = (tail + 1) & mask;
    bytes += len;
  }
  batch.erase_front_emptied(n);  // each was moved into a slot or dropped
  const uint32_t posted = tq.ring.distance(tq.tail, tail);
  if (posted != 0) {
    tq.tail = tail;
    bar_.write(RegisterValue<TDT>(tail), q);
  }
  tq.stats.packets += posted;
  tq.stats.bytes += bytes;
  return n;
}

// transmit() with Offload::kTxChecksum: a packet asking for checksums goes
// with a context descriptor in front (§7.2.3.2.3) when its header layout is
// not the one context 0 holds, so it may take two slots; the context's slot
// holds no packet. The frame is prepared as the device expects it
// (prepare_checksum_fields(); docs/offloads.md), and a request that the
// frame or the context cannot carry drops the packet, counted in errors.
size_t IxgbeDevice::transmit_checksums(uint16_t q, PacketBatch& batch) {
  TxQueue& tq = tx_[q];
  clean_tx(tq, 2 * batch.size());
  DescriptorRing& ring = tq.ring;
  uint8_t* const descriptors = ring.descriptors();
  uint32_t free_slots = ring.mask() - ring.distance(tq.clean, tq.tail);
  uint32_t tail = tq.tail;
  uint64_t bytes = 0;
  uint32_t packets = 0;
  size_t k = 0;
  for (; k < batch.size(); ++k) {
    Packet& p = batch[k];
    const uint32_t len = static_cast<uint32_t>(p.size());
    const std::optional<ChecksumRequest> r = checksum_request(p);
    // MACLEN is 7 bits (§7.2.3.2.3).
    if (!fits_one_descriptor(len) || !r || r->l2 > TxContext::MACLEN::kMax) {
      ++tq.stats.errors;
      p.reset();
      continue;
    }
    const bool offload = r->ip_checksum || r->l4_proto != 0;
    const uint32_t key = offload ? context_key(*r) : 0;
    const bool new_context = offload && key != tq.context;
    if (free_slots < 1u + new_context) break;
    if (new_context) {
      LayoutRef<TxContext>(descriptors + size_t{tail} * kDescriptorSize)
          .set<TxContext::VLAN_MACIP_LENS>(TxContext::IPLEN::insert(0, r->l3) |
                                           TxContext::MACLEN::insert(0, r->l2))
          .set<TxContext::SEQNUM_SEED>(0)
          .set<TxContext::TYPE_TUCMD_MLHL>(
              (r->ipv4 ? TxContext::TUCMD_IPV4::kMask : 0) |
              TxContext::L4T::insert(
                  0, r->l4_proto == 6 ? TxContext::L4T::kTcp : TxContext::L4T::kUdp) |
              TxContext::DTYP::insert(0, TxRead::DTYP::kContext) | TxContext::DEXT::kMask)
          .set<TxContext::MSS_L4LEN_IDX>(TxContext::IDX::insert(0, 0));
      tq.context = key;
      tail = ring.next(tail);
      --free_slots;
    }
    uint32_t olinfo = TxRead::PAYLEN::insert(0, len);
    if (offload) {
      prepare_checksum_fields(p, *r);
      olinfo |= TxRead::CC::kMask | TxRead::IDX::insert(0, 0) |
                (r->ip_checksum ? TxRead::IXSM::kMask : 0) |
                (r->l4_proto != 0 ? TxRead::TXSM::kMask : 0);
    }
    write_data_descriptor(descriptors + size_t{tail} * kDescriptorSize, p.iova(), len, olinfo);
    ring.slot(tail).swap(p);
    tail = ring.next(tail);
    --free_slots;
    ++packets;
    bytes += len;
  }
  batch.erase_front_emptied(k);
  if (tail != tq.tail) {
    tq.tail = tail;
    bar_.write(RegisterValue<TDT>(tail), q);
  }
  tq.stats.packets += packets;
  tq.stats.bytes += bytes;
  return k;
}

DeviceCapabilities IxgbeDevice::capabilities() const { return kCapabilities; }

namespace {
const bool kRegistered = register_driver({"ixgbe", "Intel 82599", kDevices, open});
}  // namespace

}  // namespace safenic::ixgbe
