// A behavioural ConnectX-4 / 4 Lx / 5 (one port): the initialization segment
// and the command interface (entries, mailbox chains, ownership, delivery
// status), with the firmware's page accounting: it asks for pages at the boot,
// init and regular stages, refuses INIT_HCA until it has them, and returns
// them at teardown. Firmware objects with states (sim/mlx5/objects.cc): UAR,
// EQ, PD, transport domain, CQ, SQ and RQ (RST -> RDY -> ERR), TIS, TIR, RQT,
// the NIC RX flow table, the vport context (with its allowed unicast list)
// and the port registers. The data
// path (sim/mlx5/datapath.cc): send WQEs on the UAR doorbell, receive WQEs
// when a frame arrives, CQEs with the owner bit, events in the EQ, steering
// and Toeplitz RSS. Strict: malformed entries get the delivery status the PRM
// defines, bad commands a failed status and a syndrome, bad WQEs an error CQE
// (and the queue goes to ERR, as on hardware), and everything it reads or
// writes goes through the checked IOMMU. Command syndromes are this model's
// own numbers (firmware's are opaque), one per check.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/functional/function_ref.h"
#include "nic/mac_address.h"
#include "nic/mlx5/commands.h"
#include "nic/mlx5/layout.h"
#include "nic/mlx5/wqe.h"
#include "sim/mlx5/faults.h"
#include "sim/mlx5/objects.h"
#include "sim/model.h"
#include "sim/wires/wire.h"

namespace safenic::mlx5 {
struct OuterHeaders;  // nic/mlx5/commands.h
}  // namespace safenic::mlx5

namespace safenic::sim {

struct ConnectXProfile {
  uint16_t device_id;
  int32_t boot_pages, init_pages, regular_pages;
  uint32_t log_max_cq_size, log_max_eq_size, log_max_wq_size;
  uint32_t ptys_speed_bit;                               // PTYS eth_proto_oper when the link is up
  MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0xc5, 0x01}};  // the vport's permanent address
  uint32_t log_max_uc_list = 7;  // the vport's allowed unicast list: 2^n addresses
  // Ethernet caps enhanced_multi_pkt_send_wqe (ConnectX-5 on; the vport
  // requires no inline headers there, L2 on the others).
  bool enhanced_mpw = false;
  // Ethernet caps csum_cap: the CQEs carry checksum verdicts (every profile;
  // off to test a driver against a device without).
  bool csum_cap = true;
  // Whether TEARDOWN_HCA also resets the NIC vport context (allowed address
  // list, promiscuous bits). The PRM promises no such reset: the vport belongs
  // to the function, not to the HCA the driver tears down. Off (kept), the
  // least kind choice: a driver must put back what it changed.
  bool teardown_resets_vport = false;
  // 100GBASE-CR4 (bit 20) for CX4 and CX5, 25GBASE-CR (bit 27) for CX4 Lx.
  static ConnectXProfile cx4() { return {mlx5::kConnectX4, 32, 96, 16, 22, 22, 16, 20}; }
  static ConnectXProfile cx4lx() { return {mlx5::kConnectX4Lx, 24, 64, 8, 22, 22, 16, 27}; }
  static ConnectXProfile cx5() {
    ConnectXProfile p{mlx5::kConnectX5, 64, 256, 32, 22, 22, 16, 20};
    p.enhanced_mpw = true;
    return p;
  }
};

// Data-path faults: the next WQE of that direction is processed as if its
// lkey were wrong, or its buffer address unmapped (then the IOMMU reports it).
enum class WqeFault { kNone, kSendBadLkey, kSendUnmapped, kReceiveBadLkey, kReceiveUnmapped };

// What the device writes, shown to a test before the driver can see it (the
// hostile-device fuzzer): a command's output (header first) and delivery
// status, and each CQE and EQE once written (owner bit included), with its
// index in the ring and its bus address. Whatever the hook leaves there is
// what the driver reads.
struct DeviceWrites {
  virtual ~DeviceWrites() = default;
  virtual void command(uint16_t opcode, std::vector<uint8_t>& out, mlx5::Delivery& delivery) = 0;
  virtual void cqe(uint32_t cqn, uint32_t index, uint64_t iova, uint8_t* entry) = 0;
  virtual void eqe(uint32_t eqn, uint32_t index, uint64_t iova, uint8_t* entry) = 0;
};

// The model's reserved lkey and null mkey (QUERY_SPECIAL_CONTEXTS).
inline constexpr uint32_t kModelResdLkey = 0x800, kModelNullMkey = 0x100;
inline constexpr size_t kVportCounterWords = 0x210 / 8;
// UAR pages the model hands out start at BAR0 page 8 (pages 0 and 1 hold the
// initialization segment and the internal timer).
inline constexpr uint32_t kFirstUar = 8;

class ConnectXModel final : public DeviceModel {
 public:
  static constexpr const char* kShortName = "cx";  // NIC names: sim:cx#0
  ConnectXModel(SimContext ctx, ConnectXProfile profile = ConnectXProfile::cx5());

  PciId id() const override { return {mlx5::kVendor, profile_.device_id}; }
  size_t bar_size(int bar) const override { return bar == 0 ? mlx5::kBar0Size : 0; }
  uint64_t mmio_read(int bar, uint32_t offset, unsigned width) override;
  void mmio_write(int bar, uint32_t offset, unsigned width, uint64_t value) override;

  void progress() override { update_link(); }

  // The QSFP cage: connect() it to another port.
  Port& port() { return port_; }
  bool link_up() const { return initialized_ && port_state_.admin_up && port_.connected(); }
  // The link up and a NIC RX root flow table set: frames have somewhere to go.
  bool receiving() override { return link_up() && objects_.root.has_value(); }

  // Seeded faults (sim/faults.h): kCommandTimeout and kCommandFailure at each
  // command (of plan.command_opcode, if set), kBadLkey at each data segment,
  // kCqOverrun at each CQE, kEqStall at each EQE, kHealthSyndrome at each
  // command, send doorbell and arriving frame.
  void set_faults(std::shared_ptr<ConnectXFaultPlan> plan) { faults_ = std::move(plan); }
  void set_device_writes(DeviceWrites* hook) { writes_ = hook; }

  // Single faults: the next command (of `opcode`, or any when 0; after letting
  // `skip` of them succeed) fails with `status`/`syndrome`; commands stop
  // completing; firmware stays initializing; a health syndrome (the firmware
  // stops: no command completes, no queue runs); a WQE fault.
  void fail_next_command(uint16_t opcode, mlx5::CmdStatus status, uint32_t syndrome,
                         uint32_t skip = 0);
  void inject_wqe_fault(WqeFault f) { wqe_fault_ = f; }
  void stop_completing(bool stop) { stop_completing_ = stop; }
  // The next command completes with this delivery status (as if garbled).
  void fail_next_delivery(mlx5::Delivery d) { fail_delivery_ = d; }
  void stay_initializing(bool stay) { stay_initializing_ = stay; }
  void set_health_syndrome(uint8_t s) { health_syndrome_ = s; }
  // The health buffer's ext_synd: vendor detail that accompanies a syndrome;
  // alone (syndrome 0) it is no failure.
  void set_health_ext_syndrome(uint16_t s) { health_ext_syndrome_ = s; }
  // The running firmware asks for `n` more pages (n > 0) or offers -n back
  // (n < 0): a page request event (PRM "Page Request Event"). QUERY_PAGES
  // (regular) then says how many it wants; MANAGE_PAGES take returns at most
  // what it offered until TEARDOWN_HCA.
  void request_pages(int32_t n);
  uint8_t health_syndrome() const { return health_syndrome_; }
  // The vport context as the firmware holds it.
  const cx::PortState& vport() const { return port_state_; }
  bool eq_stalled() const { return eq_stalled_; }

  size_t pages_held() const { return pages_.size(); }
  bool enabled() const { return enabled_; }
  bool initialized() const { return initialized_; }
  uint64_t commands() const { return commands_; }
  // Commands run, by opcode (delivered ones, failed or not).
  const std::map<uint16_t, uint32_t>& commands_by_opcode() const { return by_opcode_; }
  // Firmware objects alive now, and when TEARDOWN_HCA came (a driver that
  // destroys what it made leaves 0).
  size_t live_objects() const { return objects_.count(); }
  size_t objects_at_teardown() const { return objects_at_teardown_; }
  // The state of SQ or RQ `n`, if it exists.
  std::optional<uint8_t> wq_state(uint32_t n) const;
  // The doorbell record addresses of the receive queues there are (for
  // tests that play a driver writing a wrong record).
  std::vector<uint64_t> rq_doorbell_records() const {
    std::vector<uint64_t> out;
    for (const auto& [n, wq] : objects_.wqs) {
      if (!wq.send) out.push_back(wq.dbr);
    }
    return out;
  }
  // Send WQEs taken (well formed), by opcode (mlx5::kOpcodeSend, ...).
  uint64_t send_wqes(uint32_t opcode) const {
    return opcode < send_wqes_.size() ? send_wqes_[opcode] : 0;
  }
  // Frames the model dropped, by reason (eq_full and eq_stalled count
  // events): rx_failed, a receive WQE failed on it (error CQE); tx_failed, the
  // frames of a send WQE that failed (none of them sent); tx_flushed, the
  // frames of send WQEs flushed while their SQ was in ERR. no_cqe: those of
  // rx_failed, tx_failed and tx_flushed whose CQE was not written (the CQ had
  // overrun), so no driver can count them.
  struct Drops {
    uint64_t link_down = 0, vport_filter = 0, no_steering = 0, rq_not_ready = 0, no_wqe = 0,
             oversize = 0, eq_full = 0, eq_stalled = 0, fatal = 0, rx_failed = 0, tx_failed = 0,
             tx_flushed = 0, no_cqe = 0;
  };
  const Drops& drops() const { return drops_; }
  // The frames of drops() (not eq_full, eq_stalled: events), by field name,
  // rx_ or tx_ in front where a field does not say (link_down counts both):
  // rx_vport_filter is a frame for a MAC this vport does not have.
  std::map<std::string, uint64_t> dropped_frames() const override;

 private:
  class QsfpPort final : public Port {
   public:
    explicit QsfpPort(ConnectXModel& m) : m_(m) {}
    void receive(absl::Span<const uint8_t> frame) override { m_.receive(frame); }
    void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) override {
      m_.receive_burst(frames);
    }
    void on_link_change(bool) override { m_.update_link(); }

   private:
    ConnectXModel& m_;
  };
  struct Result {  // a command's outcome
    mlx5::CmdStatus status = mlx5::CmdStatus::kOk;
    uint32_t syndrome = 0;
  };
  struct Io {  // one command's input and output
    const std::vector<uint8_t>& in;
    std::vector<uint8_t>& out;
    uint16_t op_mod;
  };

  void doorbell(uint32_t slots);
  void execute(uint32_t slot);
  // Gathers `len` bytes: the inline part, then the mailbox chain at `mailbox`.
  mlx5::Delivery gather(uint8_t* entry, std::vector<uint8_t>* in);
  mlx5::Delivery scatter(uint8_t* entry, const std::vector<uint8_t>& out);
  // The command's output (header first); status in the header.
  std::vector<uint8_t> run(const std::vector<uint8_t>& in, size_t out_size);
  // Finds the command in mlx5::Commands, checks its sizes and the HCA's
  // state, and runs its execute().
  Result dispatch(uint16_t opcode, Io& io);

  // What each command does: one execute() per command of mlx5::Commands (a
  // command without one does not compile). model.cc: the HCA's life.
  Result execute(mlx5::ENABLE_HCA, Io& io);
  Result execute(mlx5::DISABLE_HCA, Io& io);
  Result execute(mlx5::QUERY_ISSI, Io& io);
  Result execute(mlx5::SET_ISSI, Io& io);
  Result execute(mlx5::QUERY_PAGES, Io& io);
  Result execute(mlx5::MANAGE_PAGES, Io& io);
  Result execute(mlx5::QUERY_HCA_CAP, Io& io);
  Result execute(mlx5::INIT_HCA, Io& io);
  Result execute(mlx5::TEARDOWN_HCA, Io& io);
  // objects.cc: the objects.
  Result execute(mlx5::ALLOC_UAR, Io& io);
  Result execute(mlx5::ALLOC_PD, Io& io);
  Result execute(mlx5::ALLOC_TRANSPORT_DOMAIN, Io& io);
  Result execute(mlx5::QUERY_SPECIAL_CONTEXTS, Io& io);
  Result execute(mlx5::CREATE_EQ, Io& io);
  Result execute(mlx5::CREATE_CQ, Io& io);
  Result execute(mlx5::CREATE_SQ, Io& io);
  Result execute(mlx5::CREATE_RQ, Io& io);
  Result execute(mlx5::MODIFY_SQ, Io& io);
  Result execute(mlx5::MODIFY_RQ, Io& io);
  Result execute(mlx5::CREATE_TIS, Io& io);
  Result execute(mlx5::CREATE_TIR, Io& io);
  Result execute(mlx5::CREATE_RQT, Io& io);
  Result execute(mlx5::CREATE_FLOW_TABLE, Io& io);
  Result execute(mlx5::CREATE_FLOW_GROUP, Io& io);
  Result execute(mlx5::SET_FLOW_TABLE_ENTRY, Io& io);
  Result execute(mlx5::SET_FLOW_TABLE_ROOT, Io& io);
  Result execute(mlx5::DELETE_FLOW_TABLE_ENTRY, Io& io);
  Result execute(mlx5::DESTROY_FLOW_TABLE, Io& io) {
    return destroy(mlx5::DESTROY_FLOW_TABLE::kOpcode, io);
  }
  Result execute(mlx5::DESTROY_FLOW_GROUP, Io& io) {
    return destroy(mlx5::DESTROY_FLOW_GROUP::kOpcode, io);
  }
  template <typename Cmd>
  requires std::is_base_of_v<mlx5::DestroysNumbered, Cmd> Result execute(Cmd, Io& io) {
    return destroy(Cmd::kOpcode, io);
  }
  // port.cc: the vport and the port.
  Result execute(mlx5::QUERY_NIC_VPORT_CONTEXT, Io& io);
  Result execute(mlx5::MODIFY_NIC_VPORT_CONTEXT, Io& io);
  Result execute(mlx5::QUERY_VPORT_STATE, Io& io);
  Result execute(mlx5::QUERY_VPORT_COUNTER, Io& io);
  Result execute(mlx5::ACCESS_REGISTER, Io& io);

  template <typename Cmd>
  Result create_wq(Io& io, bool send);
  template <typename Cmd>
  Result modify_wq(Io& io, bool send);
  // DESTROY_* / DEALLOC_*: the object must exist and nothing may use it.
  Result destroy(uint16_t opcode, Io& io);
  uint32_t new_id(uint32_t base) { return base + next_id_++; }

  // send.cc
  void send_doorbell(uint32_t uar, uint64_t bus_value);
  void transmit(uint32_t sqn, cx::Wq& sq, uint16_t until);
  // Copies the send WQE at basic block `c` (and the blocks its ds says,
  // wrapping at the ring's end) into wqe_; its size in blocks, 0 when the
  // IOMMU refused a read (reported).
  uint32_t read_send_wqe(const cx::Wq& sq, uint16_t c);
  // A malformed WQE's complaint, empty for a good one.
  std::string check_send_wqe(uint32_t sqn, const cx::Wq& sq, uint16_t c, uint32_t blocks,
                             uint16_t posted) const;
  // The frames of a SEND or ENHANCED_MPSW WQE in wqe_; a syndrome when one fails.
  uint8_t send_frames(cx::Wq& sq, uint32_t opcode, uint32_t ds);
  // The frames the send WQE in wqe_ carries (NOP none, SEND one, ENHANCED_MPSW
  // one per data segment).
  uint32_t wqe_frames() const;
  // `byte_count`: the segment's BYTE_COUNT, read once by the caller.
  uint8_t read_frame_data(const cx::Wq& sq, LayoutRef<mlx5::DataSegment> seg, uint32_t byte_count,
                          size_t frame_so_far, absl::Span<const uint8_t>& data);
  // Frame i of the send WQE (shorter than the MAC sends) padded with zeros.
  absl::Span<const uint8_t> padded(size_t i, absl::Span<const uint8_t> frame);

  // datapath.cc
  void uar_write(uint32_t offset, unsigned width, uint64_t value);
  void receive(absl::Span<const uint8_t> frame);
  void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames);
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline void deliver(uint32_t tirn, absl::Span<const uint8_t> frame,
                                                   const LayoutValue<mlx5::OuterHeaders>& headers,
                                                   uint16_t flags);
  ABSL_ATTRIBUTE_ALWAYS_INLINE inline void deliver_to_rq(uint32_t rqn,
                                                         absl::Span<const uint8_t> frame,
                                                         uint32_t hash, uint16_t flags,
                                                         uint8_t hash_type);
  bool read_receive_counter(uint32_t rqn, cx::Wq& rq);
  ABSL_ATTRIBUTE_NOINLINE static uint32_t rss_hash(const cx::Tir& tir,
                                                   const LayoutValue<mlx5::OuterHeaders>& headers);
  // Moves a WQ to ERR with an error CQE for its next WQE, then flushes.
  // `blocks`: the failed WQE's size (a send WQE's is in wqe_).
  void fail_wq(uint32_t n, cx::Wq& wq, uint16_t until, uint8_t syndrome, uint32_t blocks = 1);
  // A WQ in ERR: flush-error CQEs for the WQEs up to `until`, if enabled.
  void flush_wq(uint32_t n, cx::Wq& wq, uint16_t until);
  // A CQE is written in two steps: claim_cqe() finds the CQ's next entry and
  // zeroes it (null when the CQ overran or is gone), the caller fills its
  // body, and post_cqe() writes the opcode and owner bit last and counts it.
  struct CqeSlot {
    cx::Cq* cq = nullptr;
    uint32_t cqn = 0;
    uint64_t iova = 0;
    uint8_t* mem = nullptr;
    explicit operator bool() const { return mem != nullptr; }
  };
  // (Inline, with the rare cases out of line: a CQE a frame each way.)
  CqeSlot claim_cqe(uint32_t cqn) {
    cx::Cq* const cq = objects_.cq(cqn);
    if (cq == nullptr || cq->overrun) return {};
    if (ABSL_PREDICT_FALSE(faults_ != nullptr ||
                           (!cq->oi && ((cq->pi - cq->ci) & 0xFFFFFF) >= (1u << cq->log_size))) &&
        !cq_has_room(cqn, *cq)) {
      return {};
    }
    const uint64_t iova = cq->mem.at(uint64_t{cq->pi & ((1u << cq->log_size) - 1)} * 64);
    uint8_t* const mem = cq_window_.get(*ctx_.iommu, iova, 64, "ConnectX CQE write");
    if (mem == nullptr) return {};
    std::memset(mem, 0, 63);
    return {cq, cqn, iova, mem};
  }
  // A CQ that looks full, or a fault plan: whether the CQ has room by its
  // doorbell record; if not, an overrun (reported; a CQ error event).
  bool cq_has_room(uint32_t cqn, cx::Cq& cq);
  void post_cqe(const CqeSlot& slot, uint8_t opcode);
  // Both steps: `fill` writes the CQE's body and returns its opcode; false
  // when the CQE could not be written.
  bool write_cqe(uint32_t cqn, absl::FunctionRef<uint8_t(LayoutRef<mlx5::Cqe>)> fill);
  void post_event(uint32_t type, uint32_t sub_type, uint32_t cqn = 0, uint8_t syndrome = 0);
  bool subscribed(uint32_t type) const;  // an EQ takes events of this type
  // The EQE's data (bytes 0x20-0x3B) filled by `data`.
  void post_event_data(uint32_t type, uint32_t sub_type,
                       absl::FunctionRef<void(LayoutRef<mlx5::Eqe>)> data);
  void update_link();
  // A frame in the vport counters (received or sent; unicast, broadcast or
  // multicast: groups 4, 2 and 6). Inline: a frame each way.
  void count(bool rx, absl::Span<const uint8_t> f) {
    uint32_t first4;
    uint16_t last2;
    std::memcpy(&first4, f.data(), 4);
    std::memcpy(&last2, f.data() + 4, 2);
    const size_t group = (f[0] & 1) == 0 ? 4 : (first4 == 0xFFFFFFFF && last2 == 0xFFFF) ? 2 : 6;
    const uint32_t off = mlx5::kVportCounters[group + (rx ? 0 : 1)].offset / 8;
    ++vport_counters_[off];
    vport_counters_[off + 1] += f.size();
  }
  // Whether any fault may be injected (a WQE fault pending or a plan set):
  // one test on the data path, the particular faults behind it.
  bool injecting() const { return wqe_fault_ != WqeFault::kNone || faults_ != nullptr; }
  bool take_fault(WqeFault f) {
    return wqe_fault_ == f ? (wqe_fault_ = WqeFault::kNone, true) : false;
  }
  bool fault(ConnectXFault f) { return faults_ != nullptr && faults_->fire(f); }
  bool command_fault(ConnectXFault f, uint16_t opcode) {
    return faults_ != nullptr &&
           (faults_->command_opcode == 0 || faults_->command_opcode == opcode) && faults_->fire(f);
  }
  // kHealthSyndrome's opportunity; true when the firmware has stopped. PRM
  // "Health Buffer": a nonzero health syndrome means the firmware hit a fatal
  // error; it runs no more commands and no queue until the function is reset.
  bool fatal() {
    if (health_syndrome_ == 0 && fault(ConnectXFault::kHealthSyndrome))
      health_syndrome_ = faults_->health_syndrome;
    return health_syndrome_ != 0;
  }

  SimContext ctx_;
  ConnectXProfile profile_;
  uint64_t cmdq_ = 0;
  uint32_t cmdq_addr_h_ = 0;
  bool enabled_ = false, initialized_ = false, torn_down_ = false;
  uint16_t issi_ = 0;
  int32_t owed_[4] = {};     // pages still asked for per stage (index = op_mod)
  uint32_t returnable_ = 0;  // pages offered back by a page request while running
  std::set<uint64_t> pages_;
  bool stop_completing_ = false, stay_initializing_ = false, eq_stalled_ = false;
  uint8_t health_syndrome_ = 0;
  uint16_t health_ext_syndrome_ = 0;
  struct Failure {
    uint16_t opcode;
    mlx5::CmdStatus status;
    uint32_t syndrome;
  };
  std::optional<Failure> fail_next_;
  std::optional<mlx5::Delivery> fail_delivery_;
  uint64_t commands_ = 0;

  // Where the datapath's last DMAs of each kind went (doorbell records of
  // RQs, SQs and CQs, CQEs, receive WQEs, receive data, send WQEs, send data).
  DmaWindow rq_dbr_window_, sq_dbr_window_, cq_dbr_window_, cq_window_, wq_window_, data_window_,
      send_wq_window_, send_data_window_;
  cx::Objects objects_;
  cx::PortState port_state_;
  QsfpPort port_;
  uint32_t next_id_ = 1;
  uint32_t skip_failures_ = 0;
  size_t objects_at_teardown_ = 0;
  bool link_was_up_ = false;
  WqeFault wqe_fault_ = WqeFault::kNone;
  std::shared_ptr<ConnectXFaultPlan> faults_;
  DeviceWrites* writes_ = nullptr;
  Drops drops_;
  uint64_t vport_counters_[kVportCounterWords] = {};  // by output offset / 8
  std::map<uint16_t, uint32_t> by_opcode_;
  // Send WQEs executed, by opcode (SendWqe::OPCODE, 8 bits).
  std::array<uint64_t, 256> send_wqes_ = {};
  std::vector<uint8_t> tx_frame_;  // a SEND WQE's frame: its inline headers, then its data
  // The frames of the send WQE being read: tx_frame_, or (ENHANCED_MPSW) the
  // data segments' bytes where they lie in host memory (the driver cannot
  // change them while the doorbell write is being served). At most one per
  // data segment, and a WQE has at most 63 (SendWqe::DS is 6 bits).
  std::array<absl::Span<const uint8_t>, 64> tx_frames_;
  static constexpr size_t kMinFrame = 60;                     // the MAC pads shorter frames
  std::array<std::array<uint8_t, kMinFrame>, 64> tx_padded_;  // padded(i)
  uint8_t wqe_[mlx5::kMaxWqeBlocks * mlx5::kWqeBasicBlock];   // the send WQE being read
};

}  // namespace safenic::sim
