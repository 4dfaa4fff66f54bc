// The ConnectX model's port and vport (docs/connectx.md §4, §7): the NIC vport context
// (MAC, MTU, promiscuous bits), QUERY_VPORT_STATE and QUERY_VPORT_COUNTER,
// the port registers PAOS, PTYS and PMTU through ACCESS_REGISTER, and the
// link: up when the HCA is initialized, the port administratively up (PAOS)
// and a cable plugged in; each change is a port change event.
#include <algorithm>
#include <cstring>

#include "nic/mlx5/commands.h"
#include "nic/mlx5/wqe.h"
#include "sim/mlx5/model.h"

namespace safenic::sim {

using namespace ::safenic::mlx5;  // the shared layouts

// A port change event when the link state changes (docs/connectx.md §5: type 0x09).
void ConnectXModel::update_link() {
  const bool up = link_up();
  if (up == link_was_up_) return;
  link_was_up_ = up;
  post_event(kEventPortChange, up ? kPortChangeActive : kPortChangeDown);
}

ConnectXModel::Result ConnectXModel::execute(QUERY_NIC_VPORT_CONTEXT, Io& io) {
  const cx::PortState& p = port_state_;
  const auto& m = p.mac.bytes;
  using Out = QUERY_NIC_VPORT_CONTEXT::Out;
  LayoutRef<Out>(io.out.data())
      .set<Out::MIN_WQE_INLINE_MODE>(profile_.device_id == kConnectX5 ? 0 : 1)
      .set<Out::MTU>(p.vport_mtu)
      .set<Out::PROMISC_UC>(p.promisc_uc)
      .set<Out::PROMISC_MC>(p.promisc_mc)
      .set<Out::PROMISC_ALL>(p.promisc_all)
      .set<Out::MAC_47_32>(uint32_t{m[0]} << 8 | m[1])
      .set<Out::MAC_31_0>(uint32_t{m[2]} << 24 | m[3] << 16 | m[4] << 8 | m[5]);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(MODIFY_NIC_VPORT_CONTEXT, Io& io) {
  cx::PortState& p = port_state_;
  using In = MODIFY_NIC_VPORT_CONTEXT::In;
  auto in = LayoutView<In>(io.in.data());
  const uint32_t select = in.get<In::FIELD_SELECT>();
  if (select & ~(kSelectMtu | kSelectPromisc | kSelectPermanentAddress | kSelectAddressList)) {
    return {CmdStatus::kBadParam, 0x501};  // fields the model does not implement
  }
  if (select & kSelectMtu) {
    if (in.get<In::MTU>() > p.max_mtu) return {CmdStatus::kBadParam, 0x502};
    p.set_mtus(in.get<In::MTU>(), p.admin_mtu);
  }
  if (select & kSelectPromisc) {
    p.promisc_uc = in.get<In::PROMISC_UC>(), p.promisc_mc = in.get<In::PROMISC_MC>();
    p.promisc_all = in.get<In::PROMISC_ALL>();
  }
  if (select & kSelectAddressList) {  // unicast lists only, up to the capability
    const uint32_t n = in.get<In::ALLOWED_LIST_SIZE>();
    if (in.get<In::ALLOWED_LIST_TYPE>() != kAllowedUnicast) return {CmdStatus::kBadParam, 0x503};
    if (n > (1u << profile_.log_max_uc_list)) return {CmdStatus::kBadParam, 0x504};
    if (io.in.size() < kAllowedList + 8 * size_t{n}) return {CmdStatus::kBadInputLength, 0x505};
    p.allowed_uc.assign(n, MacAddress{});
    for (uint32_t i = 0; i < n; ++i) {
      std::memcpy(p.allowed_uc[i].bytes.data(), io.in.data() + kAllowedList + 8 * i + 2, 6);
      if (p.allowed_uc[i].is_multicast()) return {CmdStatus::kBadParam, 0x506};
    }
  }
  if (select & kSelectPermanentAddress) {
    const uint64_t mac = uint64_t{in.get<In::MAC_47_32>()} << 32 | in.get<In::MAC_31_0>();
    for (int i = 0; i < 6; ++i) p.mac.bytes[i] = static_cast<uint8_t>(mac >> (40 - 8 * i));
  }
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_VPORT_STATE, Io& io) {
  LayoutRef<QUERY_VPORT_STATE::Out>(io.out.data())
      .set<QUERY_VPORT_STATE::Out::ADMIN_STATE>(2)  // follows the port
      .set<QUERY_VPORT_STATE::Out::STATE>(link_up() ? 1 : 0);
  return {};
}

ConnectXModel::Result ConnectXModel::execute(QUERY_VPORT_COUNTER, Io& io) {
  for (size_t w = 2; w < kVportCounterWords; ++w) {
    for (int i = 0; i < 8; ++i)
      io.out[8 * w + i] = static_cast<uint8_t>(vport_counters_[w] >> (56 - 8 * i));
  }
  if (LayoutView<QUERY_VPORT_COUNTER::In>(io.in.data()).get<QUERY_VPORT_COUNTER::In::CLEAR>()) {
    std::fill(std::begin(vport_counters_), std::end(vport_counters_), 0);
  }
  return {};
}

// ACCESS_REGISTER (docs/connectx.md §7): PAOS, PTYS and PMTU of local port 1.
ConnectXModel::Result ConnectXModel::execute(ACCESS_REGISTER, Io& io) {
  const uint32_t id = LayoutView<PAOS>(io.in.data()).get<PAOS::REGISTER_ID>();
  const size_t size = id == PAOS::kId   ? PAOS::kSize
                      : id == PTYS::kId ? PTYS::kSize
                      : id == PMTU::kId ? PMTU::kSize
                                        : 0;
  if (size == 0) return {CmdStatus::kBadParam, 0x602};  // a register the model lacks
  if (io.in.size() < size) return {CmdStatus::kBadInputLength, 0x603};
  if (io.out.size() < size) return {CmdStatus::kBadOutputLength, 0x604};
  if (io.op_mod != kRegisterRead && io.op_mod != kRegisterWrite)
    return {CmdStatus::kBadParam, 0x605};
  if (LayoutView<PAOS>(io.in.data()).get<PAOS::LOCAL_PORT>() != 1)
    return {CmdStatus::kBadParam, 0x606};
  const bool read = io.op_mod == kRegisterRead;
  cx::PortState& p = port_state_;
  std::memcpy(io.out.data() + 0x10, io.in.data() + 0x10, size - 0x10);
  if (id == PAOS::kId) {
    auto in = LayoutView<PAOS>(io.in.data());
    if (!read && in.get<PAOS::ASE>()) {
      const uint32_t admin = in.get<PAOS::ADMIN_STATUS>();
      if (admin != kPortUp && admin != kPortDown) return {CmdStatus::kBadParam, 0x607};
      p.admin_up = admin == kPortUp;
      update_link();
    }
    LayoutRef<PAOS>(io.out.data())
        .set<PAOS::ADMIN_STATUS>(p.admin_up ? kPortUp : kPortDown)
        .set<PAOS::OPER_STATUS>(link_up() ? kPortUp : kPortDown);
  } else if (id == PTYS::kId) {
    if ((LayoutView<PTYS>(io.in.data()).get<PTYS::PROTO_MASK>() & kProtoEthernet) == 0) {
      return {CmdStatus::kBadParam, 0x608};  // the port is Ethernet
    }
    const uint32_t speed = 1u << profile_.ptys_speed_bit;
    LayoutRef<PTYS>(io.out.data())
        .set<PTYS::ETH_PROTO_CAPABILITY>(speed)
        .set<PTYS::ETH_PROTO_ADMIN>(speed)
        .set<PTYS::ETH_PROTO_OPER>(link_up() ? speed : 0);
  } else {
    auto in = LayoutView<PMTU>(io.in.data());
    if (!read) {
      if (in.get<PMTU::ADMIN_MTU>() > p.max_mtu) return {CmdStatus::kBadParam, 0x609};
      p.set_mtus(p.vport_mtu, in.get<PMTU::ADMIN_MTU>());
    }
    LayoutRef<PMTU>(io.out.data())
        .set<PMTU::MAX_MTU>(p.max_mtu)
        .set<PMTU::ADMIN_MTU>(p.admin_mtu)
        .set<PMTU::OPER_MTU>(p.admin_mtu);
  }
  return {};
}

}  // namespace safenic::sim
