// A behavioural Intel 82599 (one port): the registers the datasheet init
// (§4.6.3) and the data path use, advanced RX/TX descriptors, RSS, statistics,
// link state, and strict checks of what the driver does. Everything happens in
// the caller's thread: TX on a TDT write, RX when a frame arrives on the wire.
// model.cc: registers, link, transmit; receive.cc: the receive side; nvm.cc
// and sfp.cc: the EEPROM and the SFP+ module; stored_registers.cc: the
// registers kept without behaviour.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "nic/ixgbe/descriptors.h"
#include "nic/layout.h"
#include "nic/mac_address.h"
#include "sim/ixgbe/faults.h"
#include "sim/ixgbe/sfp.h"
#include "sim/model.h"
#include "sim/register_file.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

struct Ixgbe82599Config {
  MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0x82, 0x01}};  // "EEPROM" MAC
  uint16_t device_id = 0x10FB;                           // 82599ES SFP+
  absl::Duration autoneg_time = absl::Milliseconds(1);   // reset or AN restart to link up
  // A module in the SFP+ cage: a passive copper cable (sim/ixgbe/sfp.h).
  // Without one the cage is empty: nothing answers on I2C and there is no link.
  bool sfp_module = true;
};

class Ixgbe82599 final : public DeviceModel {
 public:
  static constexpr const char* kShortName = "82599";  // NIC names: sim:82599#0
  Ixgbe82599(SimContext ctx, Ixgbe82599Config config = {});
  ~Ixgbe82599() override;

  PciId id() const override { return {0x8086, config_.device_id}; }
  size_t bar_size(int bar) const override;
  uint64_t mmio_read(int bar, uint32_t offset, unsigned width) override;
  void mmio_write(int bar, uint32_t offset, unsigned width, uint64_t value) override;
  void progress() override;

  // The SFP+ cage: connect() it to another port.
  Port& port() { return port_; }
  // The link comes up with time (autonegotiation done); it goes down only on
  // events that call update_link() themselves (cable, reset, AN restart, flap):
  // while up, nothing needs re-evaluating. Inline: every received frame asks.
  bool link_up() {
    if (!link_up_) update_link();
    return link_up_;
  }
  // The link up, RXCTRL.RXEN set (the datasheet's receive init ends with it,
  // §4.6.7) and queue 0 enabled with descriptors given: frames for a queue
  // not yet enabled are dropped, so a replay waits for this.
  bool receiving() override;
  // Flow control: while paused (as by received PAUSE frames) TX descriptors
  // wait; unpausing sends them.
  void set_tx_paused(bool paused);
  // Surprise removal: every register reads all ones, writes are lost.
  void set_removed(bool removed) { removed_ = removed; }
  // Frames the model dropped for reasons that have no 82599 counter.
  uint64_t dropped_link_down() const { return dropped_link_down_; }
  uint64_t dropped_filtered() const { return dropped_filtered_; }
  // Frames the MAC sent (GPTC) while the link was down: lost on the wire.
  uint64_t dropped_tx_link_down() const { return dropped_tx_link_down_; }

  // Fault injection (sim/faults.h; the README's "Fault injection" table): kLinkFlap,
  // kRxCrcError, kDmaFault, kSurpriseRemoval, kTxDescriptorError. Null: none.
  void set_faults(std::shared_ptr<IxgbeFaultPlan> plan) { faults_ = std::move(plan); }
  // What injected faults cost, where the 82599 has no counter of its own.
  uint64_t rx_dma_faults() const { return rx_dma_faults_; }  // frames dropped
  uint64_t tx_dma_faults() const { return tx_dma_faults_; }  // frames dropped
  uint64_t tx_descriptor_errors() const { return tx_descriptor_errors_; }
  // rx_filtered (RXNFGPC - GPRC - MPC on the device), rx_link_down,
  // rx_dma_fault, tx_link_down, tx_dma_fault, tx_descriptor_error.
  std::map<std::string, uint64_t> dropped_frames() const override;

 private:
  class MacPort final : public Port {
   public:
    explicit MacPort(Ixgbe82599& nic) : nic_(nic) {}
    void receive(absl::Span<const uint8_t> frame) override { nic_.receive(frame); }
    void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) override {
      nic_.receive_burst(frames);
    }
    void on_link_change(bool) override { nic_.update_link(); }

   private:
    Ixgbe82599& nic_;
  };
  // Cached pointers into the register file for one queue's ring registers.
  struct Ring {
    uint32_t *bal, *bah, *len, *head, *tail, *ctl;
    uint64_t base() const { return uint64_t{*bah} << 32 | *bal; }
    uint32_t size() const { return *len / 16; }
  };

  // What the receive path needs of the configuration registers, worked out
  // again after every register write but the doorbells (RDT, TDT) and at
  // reset, instead of once per frame.
  struct RxSettings {
    bool enabled = false;                                        // RXCTRL.RXEN
    bool broadcast = false, multicast = false, unicast = false;  // FCTRL.BAM, MPE, UPE
    bool store_bad = false;                                      // FCTRL.SBP
    size_t max_frame = 0;             // untagged, CRC included (HLREG0.JUMBOEN, MAXFRS)
    bool length_errors = false;       // HLREG0.RXLNGTHERREN
    bool rss = false;                 // MRQC.MRQE 1
    bool hash_in_write_back = false;  // RXCSUM.PCSD
    bool multicast_table = false;     // MCSTCTRL.MFE: the MTA passes multicast frames
    uint32_t multicast_offset = 0;    // MCSTCTRL.MO
    bool vlan_filter = false;         // VLNCTRL.VFE: the VFTA filters tagged frames
    uint16_t vlan_type = 0x8100;      // VLNCTRL.VET
    // The valid receive addresses (RAL/RAH with AV), six bytes each.
    std::array<uint64_t, 128> addresses{};
    uint32_t address_count = 0;
  };
  void refresh_rx_settings();

  void reset();
  void update_link();
  bool check_ring(const char* dir, uint32_t q, const Ring& r);
  void on_tail_write(const char* dir, uint32_t q, Ring& r, bool enabled);
  // Counters a burst of received frames adds once, at its end.
  struct RxTally {
    uint32_t unfiltered = 0, good = 0;              // RXNFGPC, GPRC
    uint64_t unfiltered_bytes = 0, good_bytes = 0;  // RXNFGBC, GORC
    void unfiltered_frame(uint64_t bytes) { ++unfiltered, unfiltered_bytes += bytes; }
    void good_frame(uint64_t bytes) { ++good, good_bytes += bytes; }
    // The queue the last frames went to, and how many (QPRC, QBRC).
    uint32_t queue = 0, queue_frames = 0;
    uint64_t queue_bytes = 0;
  };
  void count_rx_queue(RxTally& tally);
  void receive(absl::Span<const uint8_t> frame);
  void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames);
  void receive_one(absl::Span<const uint8_t> frame, IxgbeFaultPlan* faults, RxTally& tally);
  bool size_ok(absl::Span<const uint8_t> frame);
  bool accept(absl::Span<const uint8_t> frame) const;
  bool in_multicast_table(const uint8_t* destination) const;
  // Out of line: the one-queue path stays small.
  ABSL_ATTRIBUTE_NOINLINE uint32_t select_queue(absl::Span<const uint8_t> frame, uint32_t* hash,
                                                uint32_t* rss_type);
  void transmit(uint32_t q);
  void write_back(uint32_t q);
  void count_tx(uint32_t q, uint32_t frames, uint64_t bytes);
  // A 64-bit counter kept in two 32-bit registers (GORCL/H, QBRC_L/H, ...).
  static void add64(uint32_t& lo, uint32_t& hi, uint64_t n) {
    const uint64_t v = (uint64_t{hi} << 32 | lo) + n;
    lo = static_cast<uint32_t>(v);
    hi = static_cast<uint32_t>(v >> 32);
  }
  bool fault(IxgbeFault f) { return faults_ != nullptr && faults_->fire(f); }
  // The address a DMA goes to: corrupted (outside every IOMMU region) when a
  // kDmaFault of `faults` (null: none) fires. The data path loads faults_ once.
  static uint64_t dma_address(IxgbeFaultPlan* faults, uint64_t iova) {
    return faults != nullptr && faults->fire(IxgbeFault::kDmaFault) ? iova ^ (uint64_t{1} << 50)
                                                                    : iova;
  }
  void start_link_setup();
  void module_present_pin();
  void flap_link();

  SimContext ctx_;
  Ixgbe82599Config config_;
  RegisterFile regs_;
  RxSettings rx_settings_;
  MacPort port_;
  std::array<Ring, 128> rx_{}, tx_{};
  // TX descriptors done but not yet written back (TXDCTL.WTHRESH > 0).
  std::array<uint32_t, 128> tx_unwritten_{};
  // §7.2.3.2.3: each TX queue's context slots, as its context descriptors
  // loaded them, and what the frame being gathered asked of them.
  struct TxContextSlot {
    bool loaded = false;
    uint32_t maclen = 0, iplen = 0, l4t = 0;
    bool ipv4 = false;
  };
  std::array<std::array<TxContextSlot, ixgbe::kTxContexts>, 128> tx_contexts_{};
  struct TxOffload {
    bool ixsm = false, txsm = false;
    TxContextSlot context;
  };
  TxOffload tx_offload_;  // the frame being gathered's (from its first descriptor)
  void load_context(uint32_t q, LayoutView<ixgbe::TxContext> c);
  TxOffload offload_of(uint32_t q, LayoutView<ixgbe::TxRead> d);
  // Inserts the checksums `o` asks for into `frame`; false (reported) when
  // the context does not fit the frame.
  bool insert_checksums(uint32_t q, const TxOffload& o, absl::Span<uint8_t> frame);
  // Link set-up runs from a reset (with the EEPROM's AUTOC) and from each AN
  // restart or link reset; it ends with the link up at link_up_at_ if a
  // module is fitted, something is at the other end and the link mode is 10G
  // serial.
  SfpModule sfp_;
  bool link_up_ = false;  // what LINKS and STATUS show
  absl::Time link_up_at_;
  bool tx_paused_ = false;
  bool removed_ = false;
  uint64_t dropped_link_down_ = 0;
  uint64_t dropped_filtered_ = 0;
  uint64_t dropped_tx_link_down_ = 0;
  std::vector<uint8_t> frame_;  // TX frame being gathered (reserved once)
  enum class Lost : uint8_t { kNo, kDma, kDescriptorError };
  Lost frame_lost_ = Lost::kNo;  // part of it was lost: drop it at EOP
  std::shared_ptr<IxgbeFaultPlan> faults_;
  // The EEPROM the EERD register reads: 2^(EEC.SIZE + 6) words.
  static constexpr uint32_t kEepromSizeField = 4;
  std::array<uint16_t, size_t{1} << (kEepromSizeField + 6)> eeprom_{};
  // The EEPROM's SPI side, driven through EEC's pins.
  struct Spi {
    enum Phase : uint8_t { kInstruction, kAddress, kData, kStatus, kIgnore } phase = kInstruction;
    uint32_t bits = 0, shift = 0, address = 0;
    bool clock = false;
  };
  Spi spi_;
  // stored_registers.cc: what the model keeps without acting on it.
  void add_stored_registers();
  // nvm.cc: the EEPROM and its two read paths.
  void fill_eeprom();
  uint16_t eeprom_word(uint32_t address) const;  // 0xFFFF beyond the EEPROM
  void eerd_read();                              // after each EERD write
  void spi_pins(uint32_t eec);                   // after each EEC write
  // Where the last descriptor and buffer DMAs of each direction went.
  DmaWindow rx_ring_window_, rx_buffer_window_, tx_ring_window_, tx_buffer_window_;
  uint64_t rx_dma_faults_ = 0, tx_dma_faults_ = 0, tx_descriptor_errors_ = 0;
  bool tx_stalled_ = false;  // a descriptor fetch failed: retried in progress()
};

}  // namespace safenic::sim
