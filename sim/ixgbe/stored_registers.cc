// The 82599 registers the model declares and keeps without acting on them:
// statistics of what it does not do or does not sort frames by (they read
// 0), and settings of features it does not model (flow control, interrupts,
// DCB, virtualisation, MACsec, FCoE). Each is declared in nic/ixgbe/regs.h
// with its section; a driver may write and read them back, as on the NIC,
// and any other offset stays a violation ("unmodelled register"). Linux's
// and DPDK's drivers program them at init (docs/simulated-nics.md).

#include "nic/ixgbe/regs.h"
#include "sim/ixgbe/model.h"

namespace safenic::sim {

using namespace ::safenic::ixgbe;

void Ixgbe82599::add_stored_registers() {
  // Statistics: 0, clear on read.
  regs_.add<ILLERRC>("ILLERRC");
  regs_.add<ERRBC>("ERRBC");
  regs_.add<MSPDC>("MSPDC");
  regs_.add<MLFC>("MLFC");
  regs_.add<MRFC>("MRFC");
  regs_.add<PRC>("PRC");
  regs_.add<BPRC>("BPRC");
  regs_.add<MPRC>("MPRC");
  regs_.add<RFC>("RFC");
  regs_.add<RJC>("RJC");
  regs_.add<MNGPRC>("MNGPRC");
  regs_.add<MNGPDC>("MNGPDC");
  regs_.add<MNGPTC>("MNGPTC");
  regs_.add<TORL>("TORL");
  regs_.add<TORH>("TORH");
  regs_.add<TPR>("TPR");
  regs_.add<TPT>("TPT");
  regs_.add<PTC>("PTC");
  regs_.add<MPTC>("MPTC");
  regs_.add<BPTC>("BPTC");
  regs_.add<XEC>("XEC");
  regs_.add<PXONTXC>("PXONTXC");
  regs_.add<PXOFFTXC>("PXOFFTXC");
  regs_.add<PXON2OFFCNT>("PXON2OFFCNT");
  regs_.add<LXONTXC>("LXONTXC");
  regs_.add<LXOFFTXC>("LXOFFTXC");
  regs_.add<PXONRXCNT>("PXONRXCNT");
  regs_.add<PXOFFRXCNT>("PXOFFRXCNT");
  regs_.add<LXONRXCNT>("LXONRXCNT");
  regs_.add<LXOFFRXCNT>("LXOFFRXCNT");
  regs_.add<SSVPC>("SSVPC");
  regs_.add<FCCRC>("FCCRC");
  regs_.add<FCOERPDC>("FCOERPDC");
  regs_.add<FCLAST>("FCLAST");
  regs_.add<FCOEPRC>("FCOEPRC");
  regs_.add<FCOEDWRC>("FCOEDWRC");
  regs_.add<FCOEPTC>("FCOEPTC");
  regs_.add<FCOEDWTC>("FCOEDWTC");
  regs_.add<FDIRUSTAT>("FDIRUSTAT");
  regs_.add<FDIRFSTAT>("FDIRFSTAT");
  regs_.add<FDIRMATCH>("FDIRMATCH");
  regs_.add<FDIRMISS>("FDIRMISS");
  regs_.add<LSECTXSTATS>("LSECTXSTATS");
  regs_.add<LSECRXSTATS>("LSECRXSTATS");
  // Flow control.
  regs_.add<FCTTV>("FCTTV");
  regs_.add<FCRTL>("FCRTL");
  regs_.add<FCRTH>("FCRTH");
  regs_.add<FCRTV>("FCRTV");
  regs_.add<FCCFG>("FCCFG");
  regs_.add<MFLCN>("MFLCN");
  // Interrupts.
  regs_.add<GPIE>("GPIE");
  regs_.add<IVAR>("IVAR");
  regs_.add<IVAR_MISC>("IVAR_MISC");
  regs_.add<EITR>("EITR");
  regs_.add<EIMS_EX>("EIMS_EX");
  regs_.add<EIMC_EX>("EIMC_EX");
  // MAC, PCS, MDIO, manageability, LEDs.
  regs_.add<LEDCTL>("LEDCTL");
  regs_.add<PCS1GLCTL>("PCS1GLCTL");
  regs_.add<PCS1GANA>("PCS1GANA");
  regs_.add<MSCA>("MSCA");
  regs_.add<MSRWD>("MSRWD");
  regs_.add<MMNGC>("MMNGC");
  // Receive filters of virtualisation, and the receive filter control.
  regs_.add<RFCTL>("RFCTL");
  regs_.add<MPSAR_LO>("MPSAR_LO");
  regs_.add<MPSAR_HI>("MPSAR_HI");
  regs_.add<PFVLVF>("PFVLVF");
  regs_.add<PFVLVFB>("PFVLVFB");
  regs_.add<UTA>("UTA");
  // Transmit: DCA, DCB, queue mode, VM loopback.
  regs_.add<DCA_TXCTRL>("DCA_TXCTRL");
  regs_.add<RTTDQSEL>("RTTDQSEL");
  regs_.add<RTTBCNRC>("RTTBCNRC");
  regs_.add<MTQC>("MTQC");
  regs_.add<PFDTXGSWC>("PFDTXGSWC");
}

}  // namespace safenic::sim
