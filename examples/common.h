// What the examples share: stopping on Ctrl-C or a run length, and printing
// rates once a second.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nic/device.h"

namespace safenic::examples {

inline std::atomic<bool> g_interrupted{false};

// A path the user gave: under `bazel run` a relative one is relative to where
// they ran it (BUILD_WORKING_DIRECTORY), not to the runfiles directory.
inline std::string user_path(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || dir == nullptr || *dir == '\0') return path;
  return std::string(dir) + "/" + path;
}

// --seconds: 0 means until Ctrl-C; a negative run length is a mistake.
inline bool valid_seconds(double seconds, const char* tool) {
  if (seconds >= 0) return true;
  std::fprintf(stderr, "%s: --seconds=%g; give a run length in seconds, or 0 to run until Ctrl-C\n",
               tool, seconds);
  return false;
}

// Stops at Ctrl-C or SIGTERM (then the tool still prints its summary and
// closes its capture), after `seconds` (0: never) or after `packets` (0: never).
class RunLimit {
 public:
  RunLimit(double seconds, uint64_t packets)
      : deadline_(seconds > 0 ? absl::Now() + absl::Seconds(seconds) : absl::InfiniteFuture()),
        packets_(packets) {
    std::signal(SIGINT, [](int) { g_interrupted = true; });
    std::signal(SIGTERM, [](int) { g_interrupted = true; });
  }
  bool done(uint64_t packets_so_far) const {
    return g_interrupted || (packets_ != 0 && packets_so_far >= packets_) ||
           absl::Now() >= deadline_;
  }

 private:
  absl::Time deadline_;
  uint64_t packets_;
};

// Packets and wire bits per second between two snapshots of a counter.
struct Rate {
  double mpps = 0;
  double gbps = 0;  // with preamble, inter-frame gap and FCS: 24 bytes a frame
};
inline Rate rate(const QueueStats& now, const QueueStats& before, absl::Duration dt) {
  const double s = absl::ToDoubleSeconds(dt);
  const double packets = static_cast<double>(now.packets - before.packets);
  const double bytes = static_cast<double>(now.bytes - before.bytes);
  return {packets / s / 1e6, (bytes + 24 * packets) * 8 / s / 1e9};
}
inline std::string format(const Rate& r) {
  return absl::StrFormat("%7.3f Mpps %7.3f Gbit/s", r.mpps, r.gbps);
}

}  // namespace safenic::examples
