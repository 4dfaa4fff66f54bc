// DPDK's testpmd as an independent vhost-user back-end for tests: started with
// a net_vhost port on a fresh socket, pinned to one CPU, stopped with SIGINT
// (it then prints its "Accumulated forward statistics"). Verified invocation
// and pitfalls: docs/dpdk-peer.md.
//
// Memory: --no-huge (plain pages; a vhost back-end needs no hugepages) with
// --no-shconf, because --in-memory cannot be combined with --no-huge and CI
// reserves only 8 hugepages. safenic's shared memory is a memfd either way.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace safenic::testing {

struct TestpmdConfig {
  std::string forward_mode = "macswap";  // macswap, io, rxonly, txonly
  int cpu = 0;                           // both of testpmd's lcores run here
  int queues = 1;  // queue pairs of the vhost port (queues=N, --rxq/--txq N); one lcore polls all
  std::vector<std::string> extra_args = {};  // appended to testpmd's own options
};

struct ForwardStats {
  uint64_t rx_packets = 0, rx_dropped = 0;
  uint64_t tx_packets = 0, tx_dropped = 0;
};

class Testpmd {
 public:
  // Spawns testpmd and waits (up to 20 s) until its socket exists. An error
  // carries the end of testpmd's log.
  static absl::StatusOr<std::unique_ptr<Testpmd>> start(const TestpmdConfig& config = {});
  ~Testpmd();

  const std::string& socket() const { return socket_; }
  // SIGINT, wait for the exit (SIGKILL after 10 s), and return the whole log.
  absl::StatusOr<std::string> stop();
  // The "Accumulated forward statistics for all ports" block of a log.
  static absl::StatusOr<ForwardStats> accumulated(const std::string& log);
  // Where dpdk-testpmd is, or an error saying how to install it.
  static absl::StatusOr<std::string> binary();

 private:
  std::string read_log() const;
  pid_t pid_ = -1;
  std::string dir_, socket_, log_, prefix_;
};

}  // namespace safenic::testing
