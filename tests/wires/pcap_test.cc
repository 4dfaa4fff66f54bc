// pcap wire ends: a capture of known frames is read back by tshark (an
// independent reader) with the right count, lengths, ports, payloads and
// nanosecond times; read back by PcapFile; replayed into a simulated 82599,
// whose driver receives the same frames. Every error path says what to do.
#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/open.h"
#include "sim/harness/frames.h"
#include "sim/harness/testbed.h"
#include "sim/wires/pcap.h"

namespace safenic::sim {
namespace {

using ::testing::HasSubstr;

std::string tmp_path(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
}

// Runs a command; returns its standard output (stderr goes to a file that a
// failing test prints).
std::string run(const std::string& command, int* status) {
  const std::string err = tmp_path("stderr.txt");
  FILE* p = popen(absl::StrCat(command, " 2>", err).c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  *status = pclose(p);
  if (*status != 0) {
    std::ifstream e(err);
    std::stringstream ss;
    ss << e.rdbuf();
    ADD_FAILURE() << command << " exited with " << *status << ": " << ss.str();
  }
  return out;
}

std::string hex(absl::Span<const uint8_t> b) {
  std::string s;
  for (uint8_t x : b) absl::StrAppendFormat(&s, "%02x", x);
  return s;
}

constexpr int kFrames = 100;
// Frame i: a UDP frame of 60 + 14*i bytes to port 10000 + i, sequence number i.
std::vector<uint8_t> known_frame(int i) {
  UdpFlow flow;
  flow.dst_port = static_cast<uint16_t>(10000 + i);
  return udp_frame(60 + 14 * i, flow, static_cast<uint64_t>(i));
}
// Frame i crosses at 2023-11-14 22:13:20 + i * 1.000000123 ms (simulated time).
const absl::Time kStart = absl::FromUnixSeconds(1'700'000'000);
absl::Time known_time(int i) { return kStart + i * absl::Nanoseconds(1'000'123); }

class PcapTest : public ::testing::Test {
 protected:
  // Sends the known frames through a tap between two tester ports: even
  // frames a -> b, odd ones b -> a.
  std::string capture_known_frames(const std::string& name) {
    ctx_.clock->advance(kStart - ctx_.clock->now());
    const std::string path = tmp_path(name);
    auto tap = PcapTap::create(path, simulated_time(ctx_));
    EXPECT_TRUE(tap.ok()) << tap.status();
    if (!tap.ok()) return path;
    TesterPort left, right;
    connect(left, (*tap)->a());
    connect((*tap)->b(), right);
    for (int i = 0; i < kFrames; ++i) {
      ctx_.clock->advance(known_time(i) - ctx_.clock->now());
      (i % 2 == 0 ? left : right).send(known_frame(i));
    }
    EXPECT_EQ(right.received(), kFrames / 2u);  // frames pass through unchanged
    EXPECT_EQ(left.received(), kFrames / 2u);
    EXPECT_EQ(right.frames()[0], known_frame(0));
    EXPECT_EQ(left.frames()[0], known_frame(1));
    EXPECT_EQ((*tap)->frames(), static_cast<uint64_t>(kFrames));
    EXPECT_TRUE((*tap)->close().ok());
    return path;
  }

  SimContext ctx_;
};

TEST_F(PcapTest, TsharkReadsTheCaptureBackFrameByFrame) {
  const std::string path = capture_known_frames("known.pcap");
  int status = 0;
  const std::string out = run(absl::StrFormat("tshark -r '%s' -T fields -E separator=, "
                                              "-e frame.len -e udp.dstport -e udp.payload "
                                              "-e frame.time_epoch",
                                              path),
                              &status);
  ASSERT_EQ(status, 0) << "is tshark installed? ./bazelw installs it";
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), static_cast<size_t>(kFrames)) << out;
  for (int i = 0; i < kFrames; ++i) {
    const std::vector<uint8_t> f = known_frame(i);
    const int64_t ns = absl::ToUnixNanos(known_time(i));
    const std::string expected = absl::StrFormat("%d,%d,%s,%d.%09d", f.size(), 10000 + i,
                                                 hex(absl::MakeConstSpan(f).subspan(kUdpHeaders)),
                                                 ns / 1'000'000'000, ns % 1'000'000'000);
    EXPECT_EQ(lines[i], expected) << "frame " << i;
  }
  // The file's own header: nanosecond pcap, Ethernet, as capinfos sees it.
  const std::string info = run(absl::StrFormat("capinfos -M '%s'", path), &status);
  EXPECT_THAT(info, HasSubstr("nanoseconds"));
  EXPECT_THAT(info, HasSubstr("Ethernet"));
  EXPECT_THAT(info, HasSubstr(absl::StrCat("Number of packets:   ", kFrames)));
}

TEST_F(PcapTest, PcapFileReadsFramesAndNanosecondTimesBack) {
  const std::string path = capture_known_frames("readback.pcap");
  auto file = PcapFile::read(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    const std::vector<uint8_t> f = known_frame(i);
    EXPECT_EQ(std::vector<uint8_t>(file->frame(i).begin(), file->frame(i).end()), f);
    EXPECT_EQ(file->time(i), known_time(i));
  }
  EXPECT_EQ(file->max_frame_size(), known_frame(kFrames - 1).size());
  EXPECT_EQ(file->skipped_truncated(), 0u);
}

TEST_F(PcapTest, ReplayIntoASimulatedNicDeliversTheSameFrames) {
  const std::string path = capture_known_frames("replay.pcap");
  auto replay = PcapReplay::open(path);
  ASSERT_TRUE(replay.ok()) << replay.status();

  Testbed bed;
  DeviceConfig config;
  config.promiscuous = true;  // the frames go to 02:00:00:00:00:b1, not to the NIC's MAC
  auto dev = bed.add("82599", config);
  ASSERT_TRUE(dev.ok()) << dev.status();
  connect(**replay, bed.port(0));
  ASSERT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());

  EXPECT_EQ((*replay)->replay(30), 30u);
  EXPECT_EQ((*replay)->replay_all(), static_cast<size_t>(kFrames - 30));  // to the end
  EXPECT_TRUE((*replay)->at_end());
  EXPECT_EQ((*replay)->replay(5), 0u);

  Batch<256> batch;
  ASSERT_EQ(*(*dev)->rx_batch(0, batch), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) {
    auto b = batch[i].bytes();
    EXPECT_EQ(std::vector<uint8_t>(b.begin(), b.end()), known_frame(i)) << "frame " << i;
  }
  batch.clear();
  EXPECT_EQ((*replay)->sent(), static_cast<uint64_t>(kFrames));
  EXPECT_EQ((*replay)->lost_unconnected(), 0u);
  EXPECT_TRUE(bed.context().log->empty()) << bed.context().log->to_string();
}

TEST_F(PcapTest, ALoopingReplayStartsOverAndAnUnconnectedOneCountsLosses) {
  const std::string path = capture_known_frames("loop.pcap");
  PcapReplay::Options options;
  options.loop = true;
  auto replay = PcapReplay::open(path, options);
  ASSERT_TRUE(replay.ok()) << replay.status();
  TesterPort sink;
  connect(**replay, sink);
  EXPECT_EQ((*replay)->replay(kFrames * 2 + 7), static_cast<size_t>(kFrames * 2 + 7));
  EXPECT_FALSE((*replay)->at_end());
  ASSERT_EQ(sink.frames().size(), static_cast<size_t>(kFrames * 2 + 7));
  EXPECT_EQ(sink.frames()[kFrames + 3], known_frame(3));
  EXPECT_EQ(sink.frames()[2 * kFrames + 6], known_frame(6));
  sink.send(known_frame(0));  // what comes back is counted
  EXPECT_EQ((*replay)->received(), 1u);
  disconnect(sink);
  EXPECT_EQ((*replay)->replay(3), 3u);
  EXPECT_EQ((*replay)->lost_unconnected(), 3u);
}

TEST_F(PcapTest, AClosedTapStillPassesFramesAndCountsWhatItDidNotWrite) {
  auto tap = PcapTap::create(tmp_path("closed.pcap"));
  ASSERT_TRUE(tap.ok()) << tap.status();
  TesterPort left, right;
  connect(left, (*tap)->a());
  connect((*tap)->b(), right);
  left.send(known_frame(1));
  ASSERT_TRUE((*tap)->close().ok());
  ASSERT_TRUE((*tap)->close().ok());  // idempotent
  left.send(known_frame(2));
  EXPECT_EQ(right.received(), 2u);
  EXPECT_EQ((*tap)->frames(), 1u);
  EXPECT_EQ((*tap)->writer().dropped_closed(), 1u);
  auto file = PcapFile::read(tmp_path("closed.pcap"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 1u);
  // A side with nothing connected: the frame is captured and lost there.
  auto tap2 = PcapTap::create(tmp_path("half.pcap"));
  ASSERT_TRUE(tap2.ok());
  connect(left, (*tap2)->a());
  left.send(known_frame(3));
  EXPECT_EQ((*tap2)->frames(), 1u);
  EXPECT_EQ((*tap2)->b().lost_unconnected(), 1u);
}

// Writes a file with libpcap directly: link type, snap length, precision.
void write_raw(const std::string& path, int dlt, int snaplen, unsigned precision,
               const std::vector<std::pair<pcap_pkthdr, std::vector<uint8_t>>>& records) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt, snaplen, precision);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(d, nullptr) << pcap_geterr(dead);
  for (const auto& [hdr, bytes] : records) {
    pcap_dump(reinterpret_cast<u_char*>(d), &hdr, bytes.data());
  }
  pcap_dump_close(d);
  pcap_close(dead);
}

TEST(PcapFileTest, MicrosecondFilesAreReadAtNanosecondPrecision) {
  const std::string path = tmp_path("micro.pcap");
  const std::vector<uint8_t> f = known_frame(2);
  pcap_pkthdr h{};
  h.ts.tv_sec = 1'700'000'000, h.ts.tv_usec = 654'321;
  h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
  write_raw(path, DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_MICRO, {{h, f}});
  auto file = PcapFile::read(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_EQ(file->size(), 1u);
  EXPECT_EQ(file->time(0), absl::FromUnixSeconds(1'700'000'000) + absl::Microseconds(654'321));
}

TEST(PcapFileTest, FramesCapturedOnlyInPartAreLeftOutAndCounted) {
  const std::string path = tmp_path("snap.pcap");
  const std::vector<uint8_t> whole = known_frame(0), big = known_frame(5);
  pcap_pkthdr h1{}, h2{};
  h1.caplen = h1.len = static_cast<bpf_u_int32>(whole.size());
  h2.caplen = 64, h2.len = static_cast<bpf_u_int32>(big.size());  // cut at the snap length
  write_raw(path, DLT_EN10MB, 64, PCAP_TSTAMP_PRECISION_NANO, {{h1, whole}, {h2, big}});
  auto file = PcapFile::read(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 1u);
  EXPECT_EQ(file->skipped_truncated(), 1u);
}

TEST(PcapFileTest, ErrorsSayWhatIsWrongAndWhatToDo) {
  auto missing = PcapFile::read(tmp_path("no-such.pcap"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("no-such.pcap': " /* then libpcap's reason */));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("No such file"));

  const std::string garbage = tmp_path("garbage.pcap");
  std::ofstream(garbage) << "this is not a capture file, it is text.\n";
  auto bad = PcapFile::read(garbage);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("give a pcap or pcapng file"));

  const std::string raw = tmp_path("raw.pcap");
  write_raw(raw, DLT_RAW, 65535, PCAP_TSTAMP_PRECISION_NANO, {});
  auto not_ethernet = PcapFile::read(raw);
  EXPECT_EQ(not_ethernet.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(not_ethernet.status().message()), HasSubstr("not Ethernet (EN10MB)"));

  // A capture cut in the middle of its third frame.
  const std::string cut = tmp_path("cut.pcap");
  {
    auto w = PcapWriter::create(cut);
    ASSERT_TRUE(w.ok()) << w.status();
    for (int i = 0; i < 3; ++i) (*w)->write(known_frame(i));
    ASSERT_TRUE((*w)->close().ok());
  }
  std::ifstream in(cut, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 10);
  auto damaged = PcapFile::read(cut);
  EXPECT_EQ(damaged.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(damaged.status().message()), HasSubstr("damaged after 2 whole frames"));
  EXPECT_THAT(std::string(damaged.status().message()), HasSubstr("OUT 1-2)"));
  // Cut in its first frame: nothing to keep, so no editcap advice.
  {
    auto w = PcapWriter::create(cut);
    ASSERT_TRUE(w.ok()) << w.status();
    (*w)->write(known_frame(0));
    ASSERT_TRUE((*w)->close().ok());
  }
  std::ifstream in1(cut, std::ios::binary);
  std::string one((std::istreambuf_iterator<char>(in1)), std::istreambuf_iterator<char>());
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << one.substr(0, one.size() - 10);
  auto first = PcapFile::read(cut);
  EXPECT_EQ(first.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(first.status().message()),
              AllOf(HasSubstr("damaged before its first whole frame"), Not(HasSubstr("editcap"))));

  PcapReadOptions small;
  small.max_bytes = 100;
  const std::string two = tmp_path("two.pcap");
  {
    auto w = PcapWriter::create(two);
    ASSERT_TRUE(w.ok());
    (*w)->write(known_frame(0));
    (*w)->write(known_frame(1));
    ASSERT_TRUE((*w)->close().ok());
  }
  auto refused = PcapFile::read(two, small);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("more than 100 bytes"));

  auto unwritable = PcapTap::create("/nonexistent-dir/x.pcap");
  EXPECT_EQ(unwritable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(unwritable.status().message()),
              HasSubstr("cannot create the capture file '/nonexistent-dir/x.pcap': No such file"));
  auto no_clock = PcapWriter::create(tmp_path("x.pcap"), TimeSource());
  EXPECT_EQ(no_clock.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PcapWriterTest, AFullDiskIsReportedAtFlushOrClose) {
  auto w = PcapWriter::create("/dev/full");
  ASSERT_TRUE(w.ok()) << w.status();
  for (int i = 0; i < 100; ++i) (*w)->write(known_frame(i));
  absl::Status s = (*w)->close();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("disk full?"));
}

}  // namespace
}  // namespace safenic::sim
