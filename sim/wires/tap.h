// A wire to the Linux network stack: a port that is a TAP interface.
//
//   auto tap = sim::TapPort::open("safenic0");   // needs CAP_NET_ADMIN
//   sim::connect(bed.port(0), **tap);            // the simulated NIC's cable
//   // ip addr add 10.99.0.1/24 dev safenic0 && ip link set safenic0 up
//   for (;;) { (*tap)->poll(); /* the driver's rx_batch/tx_batch */ }
//
// Frames the peer sends are written to the TAP, so the kernel receives them
// as if from a NIC. poll() reads what the kernel sent (without blocking) and
// transmits it to the peer; nothing runs in the background, like every wire.
// Frames from the kernel shorter than 60 bytes are padded with zeros to 60,
// as a real NIC's MAC pads them on a real wire. The interface's carrier
// follows the cable: down while no peer is connected.
//
// The interface exists while the port is open (it is not made persistent)
// and lives in the network namespace of the process that opens it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

class TapPort final : public Port {
 public:
  // Creates TAP interface `name` (empty: the kernel picks tapN), or attaches
  // to an existing persistent one of that name.
  static absl::StatusOr<std::unique_ptr<TapPort>> open(const std::string& name = "");
  ~TapPort() override;
  TapPort(const TapPort&) = delete;
  TapPort& operator=(const TapPort&) = delete;

  const std::string& name() const { return name_; }
  int fd() const { return fd_; }

  // Transmits up to `max_frames` frames the kernel has sent; returns how many.
  size_t poll(size_t max_frames = 64);
  // Blocks until the kernel has a frame for us or `timeout` passes; true when
  // one is waiting. For poll loops that would otherwise spin when idle.
  bool wait(absl::Duration timeout);

  // A frame from the peer: to the kernel.
  void receive(absl::Span<const uint8_t> frame) override;
  void on_link_change(bool connected) override;

  uint64_t to_kernel() const { return to_kernel_; }
  uint64_t from_kernel() const { return from_kernel_; }
  // Frames the kernel refused (write failed: interface down, too long, ...).
  uint64_t write_errors() const { return write_errors_; }
  // Reads that failed for a reason other than "nothing there".
  uint64_t read_errors() const { return read_errors_; }

 private:
  TapPort(int fd, std::string name);
  void set_carrier(bool on);

  int fd_;
  std::string name_;
  std::vector<uint8_t> buffer_;
  uint64_t to_kernel_ = 0;
  uint64_t from_kernel_ = 0;
  uint64_t write_errors_ = 0;
  uint64_t read_errors_ = 0;
};

}  // namespace safenic::sim
