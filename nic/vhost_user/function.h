// A vhost-user back-end as a PciFunction: safenic's unchanged virtio driver
// runs against any vhost-user back-end (DPDK's net_vhost, ...) with no VM.
//
//   open_device("vhost-user:/run/vu.sock")   // registered for DeviceSpec kVhostUser
//
// The function presents a modern virtio-net PCI function (1af4:1041, vendor
// capabilities in config space, one memory BAR) and translates what the
// driver does in that BAR into the vhost-user protocol (the front-end):
//
//   status FEATURES_OK      SET_FEATURES, SET_MEM_TABLE (once per connection)
//   status DRIVER_OK        per enabled queue: SET_VRING_NUM, _BASE, _ADDR,
//   (or QUEUE_ENABLE after)   _KICK (an eventfd), _CALL (none: safenic polls),
//                             _ENABLE
//   status 0 (reset)        per started queue: SET_VRING_ENABLE 0, GET_VRING_BASE
//   queue notify            an eventfd write on the queue's kick fd
//
// The back-end decides the features it offers; the function forwards only the
// data-path ones (no control queue, hence one queue pair) and adds MAC and
// STATUS itself: a locally administered MAC, and link up while the socket is
// connected. Every DmaRegion of the device is a slice of one memfd arena
// shared once with SET_MEM_TABLE (back-ends take at most 8 regions); IOVAs are
// the "guest physical" addresses of that table.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "mem/dma_region.h"
#include "nic/mac_address.h"
#include "nic/pci_function.h"

namespace safenic::vhost_user {

// All DMA memory of one device: rings, RX buffers, and every pool the
// application creates with Device::create_mempool.
inline constexpr size_t kDefaultArenaBytes = size_t{256} << 20;
// Where the arena sits in the back-end's "guest physical" address space.
inline constexpr uint64_t kGuestPhysBase = uint64_t{1} << 32;

struct Options {
  size_t arena_bytes = kDefaultArenaBytes;
  // 4 KiB pages by default; kHugepage2M needs arena_bytes / 2 MiB free
  // hugepages (fewer TLB misses on both sides).
  Backing backing = Backing::kAnonymous;
  std::optional<MacAddress> mac;  // default: locally administered, from the path
  // Back-end features not passed on to the driver, e.g. bit(kRingPacked) for
  // split rings with a back-end that offers packed ones.
  uint64_t withheld_features = 0;
  // How long to wait for the back-end's answers before giving up.
  absl::Duration reply_timeout = absl::Seconds(5);
};

// Connects to the back-end listening at `socket_path` and asks for its
// features; the virtio driver does the rest through the function's BAR.
absl::StatusOr<std::unique_ptr<PciFunction>> open_function(const std::string& socket_path,
                                                           const Options& options = {});
// The same over an already connected socket (taken over); `name` names it.
absl::StatusOr<std::unique_ptr<PciFunction>> open_function_on_socket(int fd, std::string name,
                                                                     const Options& options = {});

}  // namespace safenic::vhost_user
