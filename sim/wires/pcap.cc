#include "sim/wires/pcap.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_format.h"
#include "mem/status.h"

namespace safenic::sim {

TimeSource real_time() {
  return [] { return absl::Now(); };
}

TimeSource simulated_time(const SimContext& ctx) {
  return [clock = ctx.clock] { return clock->now(); };
}

struct PcapWriter::Handles {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  ~Handles() {
    if (dumper != nullptr) pcap_dump_close(dumper);
    if (dead != nullptr) pcap_close(dead);
  }
};

PcapWriter::PcapWriter(std::string path, TimeSource clock, std::unique_ptr<Handles> h)
    : path_(std::move(path)), clock_(std::move(clock)), h_(std::move(h)) {}

PcapWriter::~PcapWriter() = default;

absl::StatusOr<std::unique_ptr<PcapWriter>> PcapWriter::create(const std::string& path,
                                                               TimeSource clock) {
  if (!clock) return absl::InvalidArgumentError("PcapWriter: the time source is empty");
  auto h = std::make_unique<Handles>();
  h->dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kSnapLength, PCAP_TSTAMP_PRECISION_NANO);
  if (h->dead == nullptr) return absl::ResourceExhaustedError("libpcap: pcap_open_dead failed");
  errno = 0;
  h->dumper = pcap_dump_open(h->dead, path.c_str());
  if (h->dumper == nullptr) {
    const int err = errno;
    return absl::FailedPreconditionError(absl::StrFormat(
        "cannot create the capture file '%s': %s; give a path in a writable directory", path,
        err != 0 ? std::strerror(err) : pcap_geterr(h->dead)));
  }
  return std::unique_ptr<PcapWriter>(new PcapWriter(path, std::move(clock), std::move(h)));
}

void PcapWriter::write(absl::Span<const uint8_t> frame, absl::Time time) {
  if (h_->dumper == nullptr) return void(++dropped_closed_);
  const int64_t ns = absl::ToUnixNanos(time);
  int64_t sec = ns / 1'000'000'000, nsec = ns % 1'000'000'000;
  if (nsec < 0) sec -= 1, nsec += 1'000'000'000;  // before 1970: keep nsec in [0, 1e9)
  pcap_pkthdr hdr{};
  hdr.ts.tv_sec = static_cast<time_t>(sec);
  hdr.ts.tv_usec = static_cast<suseconds_t>(nsec);  // nanoseconds in a NANO-precision file
  hdr.len = static_cast<bpf_u_int32>(frame.size());
  hdr.caplen = static_cast<bpf_u_int32>(std::min<size_t>(frame.size(), kSnapLength));
  pcap_dump(reinterpret_cast<u_char*>(h_->dumper), &hdr, frame.data());
  ++frames_;
}

absl::Status PcapWriter::flush() {
  if (h_->dumper == nullptr) return absl::OkStatus();
  FILE* f = pcap_dump_file(h_->dumper);
  if (pcap_dump_flush(h_->dumper) != 0 || std::ferror(f)) {
    return absl::DataLossError(absl::StrFormat(
        "writing the capture file '%s' failed after %d frames (disk full?); free space or "
        "capture fewer frames",
        path_, frames_));
  }
  return absl::OkStatus();
}

absl::Status PcapWriter::close() {
  if (h_->dumper == nullptr) return absl::OkStatus();
  absl::Status s = flush();
  pcap_dump_close(h_->dumper);
  h_->dumper = nullptr;
  return s;
}

absl::StatusOr<std::unique_ptr<PcapTap>> PcapTap::create(const std::string& path,
                                                         TimeSource clock) {
  SAFENIC_ASSIGN_OR_RETURN(auto writer, PcapWriter::create(path, std::move(clock)));
  return std::unique_ptr<PcapTap>(new PcapTap(std::move(writer)));
}

absl::StatusOr<PcapFile> PcapFile::read(const std::string& path, const PcapReadOptions& options) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (p == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cannot read the capture file '%s': %s; give a pcap or pcapng file (tcpdump -w, "
        "tshark -w, //examples:pktgen --capture)",
        path, errbuf));
  }
  struct Closer {
    pcap_t* p;
    ~Closer() { pcap_close(p); }
  } closer{p};
  if (const int dlt = pcap_datalink(p); dlt != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(dlt);
    return absl::InvalidArgumentError(absl::StrFormat(
        "the capture file '%s' has link type %s (%d), not Ethernet (EN10MB); capture on an "
        "Ethernet interface, or convert it (editcap -T ether)",
        path, name != nullptr ? name : "unknown", dlt));
  }
  PcapFile file;
  for (size_t index = 0;; ++index) {
    pcap_pkthdr* hdr = nullptr;
    const u_char* bytes = nullptr;
    const int rc = pcap_next_ex(p, &hdr, &bytes);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      if (index == 0) {
        return absl::DataLossError(absl::StrFormat(
            "the capture file '%s' is damaged before its first whole frame: %s; capture again",
            path, pcap_geterr(p)));
      }
      return absl::DataLossError(
          absl::StrFormat("the capture file '%s' is damaged after %d whole frames: %s; keep those "
                          "(editcap -r '%s' OUT 1-%d) or capture again",
                          path, index, pcap_geterr(p), path, index));
    }
    if (hdr->caplen < hdr->len) {
      ++file.skipped_truncated_;
      continue;
    }
    if (file.data_.size() + hdr->caplen > options.max_bytes) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "the capture file '%s' holds more than %d bytes of frames; replay a part of it "
          "(editcap -r '%s' OUT 1-%d)",
          path, options.max_bytes, path, index));
    }
    const absl::Time t = absl::FromUnixSeconds(hdr->ts.tv_sec) + absl::Nanoseconds(hdr->ts.tv_usec);
    file.records_.push_back({file.data_.size(), hdr->caplen, t});
    file.data_.insert(file.data_.end(), bytes, bytes + hdr->caplen);
    file.max_frame_size_ = std::max<size_t>(file.max_frame_size_, hdr->caplen);
  }
  return file;
}

absl::StatusOr<std::unique_ptr<PcapReplay>> PcapReplay::open(const std::string& path,
                                                             const Options& options) {
  SAFENIC_ASSIGN_OR_RETURN(auto file, PcapFile::read(path, options.read));
  return std::make_unique<PcapReplay>(std::move(file), options.loop);
}

size_t PcapReplay::replay(size_t n) {
  size_t sent = 0;
  while (sent < n && !file_.empty()) {
    if (next_ >= file_.size()) {
      if (!loop_) break;
      next_ = 0;
    }
    transmit(file_.frame(next_++));
    ++sent;
  }
  sent_ += sent;
  return sent;
}

}  // namespace safenic::sim
