// virtio-net feature negotiation (virtio 1.2 §3.1.1, §5.1.3).
#include "nic/virtio/negotiation.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "nic/virtio/spec.h"

namespace safenic::virtio::detail {

using feature::bit;

// What the driver can use; the device's offer decides. Nothing here is
// required except VERSION_1 on a modern device (§6.1). Not MRG_RXBUF: a
// frame always fits one receive buffer (rx_buffer_size() of the MTU: 2048
// bytes for 1500, where §5.1.6.3.1 asks for 1526 without MRG_RXBUF; with
// VIRTIO_NET_F_MTU, §5.1.4.2 asks for room for an mtu-sized packet and its
// Ethernet header), so receive never reads the header's num_buffers (how
// many buffers a frame took) and, without the checksum offload, neither the
// header nor any byte of the frame; and the legacy header without it is 10
// bytes (§5.1.6).
uint64_t wanted_features(const DeviceConfig& config, bool modern, bool allow_packed) {
  uint64_t f = bit(feature::kMac) | bit(feature::kStatus) | bit(feature::kCtrlVq) |
               bit(feature::kCtrlRx) | bit(feature::kEventIdx);
  if (config.rx_queues > 1) f |= bit(feature::kMq);
  // The checksum offloads only when asked for: with GUEST_CSUM the device may
  // deliver frames whose checksum the driver must complete (§5.1.6.4), which
  // only the receive loop that reads the header does.
  if (config.offloads.has(Offload::kRxChecksum)) f |= bit(feature::kGuestCsum);
  if (config.offloads.has(Offload::kTxL4Checksum)) f |= bit(feature::kCsum);
  // VIRTIO_NET_F_MTU only for an MTU above 1500. §5.1.4.2 says a driver
  // SHOULD accept it, but one that does MUST post receive buffers for the
  // device's mtu (which may be far above the one asked for); without it the
  // device passes nothing over 1514 bytes (§5.1.6.3.1), which 2 KiB buffers hold.
  if (config.mtu > kDefaultMtu) f |= bit(feature::kMtu);
  // §2.7.9/§2.8.8 IN_ORDER: TX reclaim reads one used element per batch.
  // §6.1 ACCESS_PLATFORM (a driver SHOULD accept it): the addresses safenic gives
  // a device are always the ones its platform translates (VFIO's IOVAs behind
  // an IOMMU, physical addresses without one); a device that offers it may
  // refuse to work without it, as QEMU's virtio-net with iommu_platform=on does.
  if (modern)
    f |= bit(feature::kVersion1) | (allow_packed ? bit(feature::kRingPacked) : 0) |
         bit(feature::kInOrder) | bit(feature::kAccessPlatform);
  if (!modern) f |= bit(feature::kAnyLayout);
  return f;
}

OffloadSet offered_offloads(uint64_t offered) {
  OffloadSet s = {Offload::kRxChecksum, Offload::kTxL4Checksum};
  if (!(offered & bit(feature::kGuestCsum))) s = s.without({Offload::kRxChecksum});
  if (!(offered & bit(feature::kCsum))) s = s.without({Offload::kTxL4Checksum});
  return s;
}

// §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK.
absl::StatusOr<uint64_t> negotiate(PciFunction& fn, Transport& t, uint64_t wanted) {
  t.set_status(0);
  const absl::Time deadline = fn.now() + absl::Seconds(1);
  while (t.status() != 0) {
    if (fn.now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "%s: the device did not reset (status stays %#x)", fn.name(), t.status()));
    }
    fn.sleep(absl::Milliseconds(1));
  }
  t.set_status(status::kAcknowledge);
  t.set_status(status::kAcknowledge | status::kDriver);
  const uint64_t offered = t.device_features();
  if (t.modern() && !(offered & bit(feature::kVersion1))) {
    t.set_status(t.status() | status::kFailed);  // §3.1.1: added, not replacing
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: a modern virtio device that does not offer VIRTIO_F_VERSION_1", fn.name()));
  }
  const uint64_t accepted = offered & wanted;
  t.set_driver_features(accepted);
  if (!t.modern()) return accepted;  // legacy devices have no FEATURES_OK step
  t.set_status(status::kAcknowledge | status::kDriver | status::kFeaturesOk);
  if (!(t.status() & status::kFeaturesOk)) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s: the device refused FEATURES_OK for features %#x (offered %#x)",
                        fn.name(), accepted, offered));
  }
  return accepted;
}

}  // namespace safenic::virtio::detail
