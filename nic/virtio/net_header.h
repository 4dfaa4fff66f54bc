// The virtio-net header's checksum fields, driver side (virtio 1.2 §5.1.6):
// asking the device to complete a TCP/UDP checksum on transmit
// (VIRTIO_NET_F_CSUM, §5.1.6.2), and reading what it says of a received
// frame's checksum (VIRTIO_NET_F_GUEST_CSUM, §5.1.6.4). Internal to the
// virtio driver (nic/virtio/virtio_net.cc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "mem/offloads.h"
#include "mem/packet.h"
#include "nic/checksum.h"
#include "nic/virtio/spec.h"

namespace safenic::virtio::detail {

// §5.1.6.2: NEEDS_CSUM, csum_start at the L4 header and csum_offset at its
// checksum field, for a frame prepared by prepare_checksum_fields() (the
// field holding the pseudo-header's sum, as §5.1.6.2.1 asks). The header's
// other fields are left as they are (zero).
inline void ask_for_checksum(LayoutRef<NetHdr> h, const ChecksumRequest& r) {
  const uint16_t start = static_cast<uint16_t>(r.l2 + r.l3);
  h.set<NetHdr::FLAGS>(NetHdr::NEEDS_CSUM::kMask)
      .set<NetHdr::CSUM_START>(start)
      .set<NetHdr::CSUM_OFFSET>(static_cast<uint16_t>(r.l4_checksum_at() - start));
}

// §5.1.6.4 (GUEST_CSUM) NEEDS_CSUM: the device validated the data and left
// the checksum field holding the pseudo-header's sum. The driver completes
// it (from csum_start to the end, into csum_start + csum_offset, as a device
// does on transmit), so the frame is whole when the caller forwards it.
// False: offsets past the frame, a device error.
ABSL_ATTRIBUTE_NOINLINE inline bool complete_rx_checksum(Packet& p, LayoutRef<NetHdr> h) {
  const size_t start = h.get<NetHdr::CSUM_START>(), field = start + h.get<NetHdr::CSUM_OFFSET>();
  if (field + 2 > p.size()) return false;
  complete_checksum(p.data(), p.size(), start, field);
  return true;
}

// §5.1.6.4 (GUEST_CSUM): the frame's TCP/UDP checksum verdict as the header
// gives it. DATA_VALID: validated by the device. NEEDS_CSUM: validated, and
// completed here. Neither: not checked. kRxChecksumError: a NEEDS_CSUM the
// driver cannot complete.
constexpr int kRxChecksumError = -1;
ABSL_ATTRIBUTE_ALWAYS_INLINE inline int rx_checksum_flags(Packet& p, uint32_t hdr) {
  const LayoutRef<NetHdr> h(p.data() - hdr);
  const uint8_t flags = h.get<NetHdr::FLAGS>();
  // NEEDS_CSUM first: it may come with DATA_VALID.
  if (ABSL_PREDICT_FALSE(flags & NetHdr::NEEDS_CSUM::kMask)) {
    return complete_rx_checksum(p, h) ? kRxL4ChecksumGood : kRxChecksumError;
  }
  return (flags & NetHdr::DATA_VALID::kMask) ? kRxL4ChecksumGood : 0;
}

}  // namespace safenic::virtio::detail
