// pcap wire ends (libpcap's file format, read by Wireshark, tshark, tcpdump):
//
//   PcapTap  an inline element with two ports, a and b. Frames go through
//            both ways unchanged and each one is written to a capture file.
//   PcapReplay  a port that sends the frames of a capture file into whatever
//            it is connected to.
//   PcapWriter / PcapFile  the file itself, written or read.
//
//   auto tap = sim::PcapTap::create("nic0.pcap");   // absl::StatusOr
//   sim::connect(bed.port(0), (*tap)->a());         // NIC - tap - peer
//   sim::connect((*tap)->b(), peer);
//   ... traffic ...
//   (*tap)->close();                                // flushes; reports write errors
//
//   auto replay = sim::PcapReplay::open("traffic.pcap");
//   sim::connect(**replay, bed.port(0));
//   (*replay)->replay(32);                          // the next 32 frames arrive at NIC 0
//
// Captures are Ethernet (DLT_EN10MB) pcap files with nanosecond timestamps
// and a 65535-byte snap length; frames carry no FCS, as on every Port. A pcap
// file has no direction field: both directions of a tap share one file, in
// the order the frames crossed it.
//
// Timestamps come from a TimeSource. The default is real time (absl::Now),
// so a capture of a live run (a TAP, //examples:echo) shows real times and
// gaps in Wireshark. Simulated time (simulated_time(ctx)) moves only when a
// driver sleeps or a test advances it: frames then often share a timestamp,
// but the file is the same on every run, which is what tests want.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "sim/model.h"
#include "sim/wires/wire.h"

namespace safenic::sim {

using TimeSource = std::function<absl::Time()>;
TimeSource real_time();
// The simulation's clock (ctx.clock, shared, so it stays valid).
TimeSource simulated_time(const SimContext& ctx);

// Writes frames to a new pcap file (an existing one is replaced).
class PcapWriter {
 public:
  static constexpr int kSnapLength = 65535;

  static absl::StatusOr<std::unique_ptr<PcapWriter>> create(const std::string& path,
                                                            TimeSource clock = real_time());
  ~PcapWriter();  // closes (errors then go unreported: call close() to see them)
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Appends a frame stamped with the clock's time (or `time`). Frames over
  // kSnapLength are cut there; the record keeps their full length. After
  // close() frames are counted in dropped_closed() instead.
  void write(absl::Span<const uint8_t> frame) { write(frame, clock_()); }
  void write(absl::Span<const uint8_t> frame, absl::Time time);
  // Pushes buffered frames to the file so a reader sees them now.
  absl::Status flush();
  // Flushes and closes; reports a failed write (a full disk) here. Idempotent.
  absl::Status close();

  const std::string& path() const { return path_; }
  uint64_t frames() const { return frames_; }
  uint64_t dropped_closed() const { return dropped_closed_; }

 private:
  struct Handles;
  PcapWriter(std::string path, TimeSource clock, std::unique_ptr<Handles> h);

  std::string path_;
  TimeSource clock_;
  std::unique_ptr<Handles> h_;
  uint64_t frames_ = 0;
  uint64_t dropped_closed_ = 0;
};

// An inline capture point: whatever arrives at a() leaves from b() and the
// other way round, and every frame is written once, in crossing order. A
// frame sent out of an unconnected side is still captured (it left the
// port that sent it) and counted by that side's lost_unconnected().
class PcapTap {
 public:
  static absl::StatusOr<std::unique_ptr<PcapTap>> create(const std::string& path,
                                                         TimeSource clock = real_time());
  PcapTap(const PcapTap&) = delete;
  PcapTap& operator=(const PcapTap&) = delete;

  Port& a() { return a_; }
  Port& b() { return b_; }
  PcapWriter& writer() { return *writer_; }
  uint64_t frames() const { return writer_->frames(); }
  absl::Status flush() { return writer_->flush(); }
  // Stops capturing (frames still pass) and reports write errors.
  absl::Status close() { return writer_->close(); }

 private:
  class Side final : public Port {
   public:
    Side(PcapTap& tap, Side& other) : tap_(tap), other_(other) {}
    void receive(absl::Span<const uint8_t> frame) override {
      tap_.writer_->write(frame);
      other_.transmit(frame);
    }

   private:
    PcapTap& tap_;
    Side& other_;
  };
  explicit PcapTap(std::unique_ptr<PcapWriter> writer)
      : writer_(std::move(writer)), a_(*this, b_), b_(*this, a_) {}

  std::unique_ptr<PcapWriter> writer_;
  Side a_, b_;
};

// A capture file read into memory: its Ethernet frames and their times.
struct PcapReadOptions {
  // Refuse files whose frames add up to more than this (they are held in memory).
  size_t max_bytes = size_t{512} << 20;
};
class PcapFile {
 public:
  // Reads pcap (and pcapng) files with Ethernet link type; timestamps at
  // nanosecond precision whatever the file's own precision.
  static absl::StatusOr<PcapFile> read(const std::string& path,
                                       const PcapReadOptions& options = {});

  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  absl::Span<const uint8_t> frame(size_t i) const {
    return {data_.data() + records_[i].offset, records_[i].length};
  }
  absl::Time time(size_t i) const { return records_[i].time; }
  // Frames the file holds only in part (captured with a short snap length):
  // left out, because sending them would send different frames.
  uint64_t skipped_truncated() const { return skipped_truncated_; }
  size_t max_frame_size() const { return max_frame_size_; }

 private:
  struct Record {
    size_t offset;
    size_t length;
    absl::Time time;
  };
  std::vector<uint8_t> data_;
  std::vector<Record> records_;
  uint64_t skipped_truncated_ = 0;
  size_t max_frame_size_ = 0;
};

// A port that sends a capture file's frames, in file order, to its peer.
// It counts what the peer sends back.
class PcapReplay final : public Port {
 public:
  struct Options {
    bool loop = false;  // start over at the end of the file
    PcapReadOptions read;
  };
  static absl::StatusOr<std::unique_ptr<PcapReplay>> open(const std::string& path,
                                                          const Options& options);
  static absl::StatusOr<std::unique_ptr<PcapReplay>> open(const std::string& path) {
    return open(path, Options{});
  }
  explicit PcapReplay(PcapFile file, bool loop = false) : file_(std::move(file)), loop_(loop) {}

  // Sends the next `n` frames (fewer at the end of a file that does not
  // loop) and returns how many were sent. Frames sent while unconnected are
  // lost and counted by lost_unconnected().
  size_t replay(size_t n);
  size_t replay_all() { return replay(file_.size()); }
  void rewind() { next_ = 0; }
  bool at_end() const { return !loop_ && next_ >= file_.size(); }

  const PcapFile& file() const { return file_; }
  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  uint64_t received_bytes() const { return received_bytes_; }
  void receive(absl::Span<const uint8_t> frame) override {
    ++received_;
    received_bytes_ += frame.size();
  }

 private:
  PcapFile file_;
  bool loop_;
  size_t next_ = 0;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
  uint64_t received_bytes_ = 0;
};

}  // namespace safenic::sim
