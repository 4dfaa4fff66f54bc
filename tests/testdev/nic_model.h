// The behavioural "testnic" (nic_layout.h): checks every descriptor and
// register write a driver makes, and reports mistakes to the violation log.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/types/span.h"
#include "nic/mac_address.h"
#include "sim/model.h"
#include "sim/wires/wire.h"
#include "tests/testdev/nic_layout.h"

namespace safenic::testnic {

struct TestNicConfig {
  MacAddress mac{{0x02, 0x00, 0x00, 0x00, 0x7e, 0x01}};
};

class TestNicModel final : public sim::DeviceModel {
 public:
  static constexpr const char* kShortName = "testnic";  // NIC names: sim:testnic#0
  TestNicModel(sim::SimContext ctx, TestNicConfig config = {});

  PciId id() const override { return {kVendor, kDevice}; }
  size_t bar_size(int bar) const override { return bar == 0 ? kBarSize : 0; }
  uint64_t mmio_read(int bar, uint32_t off, unsigned width) override;
  void mmio_write(int bar, uint32_t off, unsigned width, uint64_t v) override;
  bool receiving() override { return enabled() && port_.connected(); }
  std::map<std::string, uint64_t> dropped_frames() const override;

  sim::Port& port() { return port_; }

 private:
  struct Ring {
    uint64_t base = 0;
    uint32_t size = 0, head = 0, tail = 0;
  };
  class WirePort final : public sim::Port {
   public:
    explicit WirePort(TestNicModel& m) : m_(m) {}
    void receive(absl::Span<const uint8_t> frame) override { m_.receive(frame); }

   private:
    TestNicModel& m_;
  };

  bool enabled() const { return (ctrl_ & CTRL::ENABLE::kMask) != 0; }
  void reset();
  // A TAIL write: checked, then (TX) the frames are sent.
  void set_tail(Ring& ring, uint64_t v, const char* name);
  void transmit();
  void receive(absl::Span<const uint8_t> frame);

  sim::SimContext ctx_;
  TestNicConfig config_;
  WirePort port_;
  uint32_t ctrl_ = 0;
  Ring rx_, tx_;
  uint32_t rx_frames_ = 0, rx_no_descriptor_ = 0, rx_filtered_ = 0, tx_frames_ = 0;
};

}  // namespace safenic::testnic
