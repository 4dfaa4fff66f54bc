// Wires between simulated ports. A Port is one end: frames a port transmits
// arrive, synchronously and in order, at the port it is connected to. The same
// ends serve NIC models, test endpoints, pcap files (sim/wires/pcap.h) and TAP interfaces
// (sim/wires/tap.h).
//
//   connect(nic_a.port(), nic_b.port());   // a cable
//   connect(nic.port(), nic.port());       // a loopback plug
//   disconnect(nic_a.port());              // unplug (both ends go down)
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace safenic::sim {

class Port {
 public:
  virtual ~Port();
  // A frame (no FCS) arrives at this port.
  virtual void receive(absl::Span<const uint8_t> frame) = 0;
  // Frames that arrive back to back, in order: one receive() each, unless
  // the port takes a burst faster (a model adds its counters once).
  virtual void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) {
    for (const absl::Span<const uint8_t> frame : frames) receive(frame);
  }
  // The cable was plugged in or pulled out.
  virtual void on_link_change(bool connected) {}

  // Sends a frame to the connected port; without one it is lost, and counted.
  void transmit(absl::Span<const uint8_t> frame) {
    if (peer_ != nullptr) {
      peer_->receive(frame);
    } else {
      ++lost_unconnected_;
    }
  }
  void transmit_burst(absl::Span<const absl::Span<const uint8_t>> frames) {
    if (peer_ != nullptr) {
      peer_->receive_burst(frames);
    } else {
      lost_unconnected_ += frames.size();
    }
  }
  bool connected() const { return peer_ != nullptr; }
  uint64_t lost_unconnected() const { return lost_unconnected_; }

 private:
  friend void connect(Port& a, Port& b);
  friend void disconnect(Port& p);
  Port* peer_ = nullptr;
  uint64_t lost_unconnected_ = 0;
};

// Plugs a cable between a and b (a == b: a loopback); an existing cable at
// either end is unplugged first.
void connect(Port& a, Port& b);
void disconnect(Port& p);

// A test endpoint: records what arrives (or only counts it) and sends frames.
class TesterPort final : public Port {
 public:
  explicit TesterPort(bool keep_frames = true) : keep_frames_(keep_frames) {}
  void receive(absl::Span<const uint8_t> frame) override {
    ++received_;
    received_bytes_ += frame.size();
    if (keep_frames_) frames_.emplace_back(frame.begin(), frame.end());
  }
  void receive_burst(absl::Span<const absl::Span<const uint8_t>> frames) override {
    for (const absl::Span<const uint8_t> frame : frames) TesterPort::receive(frame);
  }
  void send(absl::Span<const uint8_t> frame) { transmit(frame); }

  uint64_t received() const { return received_; }
  uint64_t received_bytes() const { return received_bytes_; }
  const std::vector<std::vector<uint8_t>>& frames() const { return frames_; }
  void clear() { frames_.clear(); }

 private:
  bool keep_frames_;
  uint64_t received_ = 0;
  uint64_t received_bytes_ = 0;
  std::vector<std::vector<uint8_t>> frames_;
};

// A cable that counts what crosses it: plug end(0) and end(1) into two
// ports (connect(nic_a.port(), cable.end(0)), ...). Frames pass in order and
// in bursts as with a plain connect(); the counts are the wire's own, to
// compare with what the devices and drivers on either side count. A port
// sees its link up once plugged into an end, whatever is at the other.
class CountingCable {
 public:
  CountingCable() : ends_{{*this, 0}, {*this, 1}} {}
  CountingCable(const CountingCable&) = delete;
  CountingCable& operator=(const CountingCable&) = delete;

  Port& end(int i) { return ends_[i]; }
  // Frames (and their bytes, no FCS) that went in at end(from) and out at the other.
  uint64_t frames(int from) const { return ends_[from].frames; }
  uint64_t bytes(int from) const { return ends_[from].bytes; }

 private:
  struct End final : Port {
    End(CountingCable& cable, int index) : cable(cable), index(index) {}
    void receive(absl::Span<const uint8_t> frame) override {
      ++frames;
      bytes += frame.size();
      cable.ends_[1 - index].transmit(frame);
    }
    void receive_burst(absl::Span<const absl::Span<const uint8_t>> burst) override {
      frames += burst.size();
      for (const absl::Span<const uint8_t> frame : burst) bytes += frame.size();
      cable.ends_[1 - index].transmit_burst(burst);
    }
    CountingCable& cable;
    int index;
    uint64_t frames = 0, bytes = 0;
  };
  End ends_[2];
};

}  // namespace safenic::sim
