#include "tests/soak/forwarding_soak.h"

#include <iostream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "mem/batch.h"
#include "sim/harness/frames.h"

namespace safenic::soak {

Flags flags;

SoakRun ForwardingSoak::run(uint64_t iterations, absl::Duration wall) {
  SoakRun out;
  out.seed = seed_;
  if (!open(out)) return out;
  start_faults();
  const absl::Time start = absl::Now();
  uint64_t it = 0;
  for (;;) {
    for (const uint64_t end = it + kChunk; it < end; ++it) iterate(it, /*sources=*/true);
    collect_violations(out);
    if (iterations != 0 ? it >= iterations : absl::Now() - start >= wall) break;
  }
  out.iterations = it;
  // The faults stop, links come back, stalled queues send, and every queue is
  // polled until nothing is left in flight.
  stop_faults();
  bed_.context().clock->advance(absl::Milliseconds(10));
  for (int i = 0; i < 64; ++i) iterate(it + i, /*sources=*/false);
  collect_violations(out);
  account_common(out.ledger);
  account(out.ledger);
  close(out);
  return out;
}

bool ForwardingSoak::open(SoakRun& out) {
  auto fail = [&](const absl::Status& s) {
    out.problems.push_back(s.ToString());
    return false;
  };
  DeviceConfig c;
  c.rx_queues = c.tx_queues = kQueues;
  c.rx_ring_size = c.tx_ring_size = 64;  // small: a paused queue overflows quickly
  c.buffers_per_rx_queue = 256;
  for (std::unique_ptr<Device>* nic : {&a_, &b_}) {
    auto dev = add_nic(c);
    if (!dev.ok()) return fail(dev.status());
    *nic = *std::move(dev);
  }
  sim::connect(bed_.port(0), source_);
  sim::connect(bed_.port(1), sink_);
  for (Device* d : {a_.get(), b_.get()}) {
    if (absl::Status s = d->wait_for_link(absl::Seconds(1)); !s.ok()) {
      return fail(s);
    }
  }
  auto pool = a_->create_mempool({.buffers = 256, .tag = "application"});
  if (!pool.ok()) return fail(pool.status());
  pool_ = *std::move(pool);
  return true;
}

// One iteration: time passes, the source sends a burst, the application
// forwards what each queue received.
void ForwardingSoak::iterate(uint64_t it, bool sources) {
  bed_.context().clock->advance(kStep);
  bed_.progress();
  if (sources) tick(it);
  if (sources) send_burst();
  for (uint16_t q = 0; q < kQueues; ++q) {
    if (sources && paused_until_[q] > it) continue;
    if (sources && rng_.below(4096) == 0) {  // the application is busy elsewhere
      paused_until_[q] = it + 48;
      continue;
    }
    forward(q);
  }
}

void ForwardingSoak::send_burst() {
  const uint64_t n = rng_.below(48);
  for (uint64_t i = 0; i < n; ++i) {
    sim::UdpFlow flow;
    flow.dst_mac = rng_.below(256) == 0 ? MacAddress{{0x02, 0, 0, 0, 0x99, 0x99}} : a_->mac();
    flow.src_port = static_cast<uint16_t>(1000 + rng_.below(256));
    // Mostly small frames (more of them per second), one in 16 up to 1514 bytes.
    const size_t size = rng_.below(16) == 0 ? 60 + rng_.below(1514 - 60 + 1) : 60 + rng_.below(68);
    sim::write_udp_frame(absl::MakeSpan(frame_, size), flow, source_sent_++);
    source_.send(absl::MakeConstSpan(frame_, size));
  }
}

void ForwardingSoak::forward(uint16_t q) {
  Batch<64> batch;
  app_received_ += *a_->rx_batch(q, batch);
  if (rng_.below(8) == 0 && batch.room() != 0) {  // a frame of the application's own
    Packet p = pool_->alloc();
    if (!p.empty() && p.resize(60 + rng_.below(200)).ok()) {
      sim::write_udp_frame(p.bytes(), sim::UdpFlow{}, app_generated_++);
      batch.push(std::move(p));
    }
  }
  (void)*b_->tx_batch(q, batch);
  app_unsent_ += batch.size();  // the TX ring was full: the application drops them
}

// The IOMMU reports each injected DMA fault; anything else is a problem.
void ForwardingSoak::collect_violations(SoakRun& out) {
  sim::ViolationLog& log = *bed_.context().log;
  for (const std::string& e : log.entries()) {
    if (absl::StrContains(e, "IOMMU fault")) {
      ++iommu_reports_;
    } else if (out.problems.size() < 20) {
      out.problems.push_back("violation: " + e);
    }
  }
  log.clear();
}

void ForwardingSoak::account_common(Ledger& l) {
  auto sa = a_->stats(), sb = b_->stats();
  if (!sa.ok() || !sb.ok()) {
    l.add("stats() failed", 1);
    return;
  }
  const QueueStats ra = sa->rx_total(), tb = sb->tx_total();
  for (const auto& [name, value] : sa->counters) l.add("A " + name, value);
  for (const auto& [name, value] : sb->counters) l.add("B " + name, value);
  l.add("source sent", source_sent_);
  l.add("A driver rx packets", ra.packets);
  l.add("A driver rx drops", ra.drops);
  l.add("A driver rx errors", ra.errors);
  l.add("app received", app_received_);
  l.add("app generated", app_generated_);
  l.add("app unsent (TX ring full)", app_unsent_);
  l.add("B driver tx packets", tb.packets);
  l.add("B driver tx errors", tb.errors);
  l.add("sink received", sink_.received());
  l.balance("NIC A driver", {"A driver rx packets"}, {"app received"});
  // Every frame the application had went to B's driver or was counted.
  if (tx_errors_in_packets()) {
    l.balance("application", {"app received", "app generated"},
              {"B driver tx packets", "app unsent (TX ring full)"});
  } else {
    l.balance("application", {"app received", "app generated"},
              {"B driver tx packets", "B driver tx errors", "app unsent (TX ring full)"});
  }
}

// Closing both NICs returns every buffer: the application's pool is full and
// no DMA region (rings, the drivers' pools) is left mapped.
void ForwardingSoak::close(SoakRun& out) {
  a_.reset();
  b_.reset();
  if (pool_->in_use() != 0) {
    out.problems.push_back(absl::StrFormat("%d application buffers leaked", pool_->in_use()));
  }
  pool_.reset();
  if (size_t live = bed_.context().iommu->live_regions(); live != 0) {
    out.problems.push_back(absl::StrFormat("%d DMA regions still mapped after close", live));
  }
}

void expect_clean(const SoakRun& run) {
  for (const std::string& m : run.ledger.mismatches()) ADD_FAILURE() << m;
  for (const std::string& p : run.problems) ADD_FAILURE() << p;
}

void report(absl::string_view name, const SoakRun& run) {
  std::cout << absl::StrFormat(
                   "%s soak: seed %d, %d iterations (%s simulated); repeat with "
                   "--test_arg=--seed=%d --test_arg=--iterations=%d\n%s",
                   name, run.seed, run.iterations, absl::FormatDuration(run.iterations * kStep),
                   run.seed, run.iterations, run.ledger.to_string())
            << std::flush;
}

bool expect_every_fault_fired(const SoakRun& run) {
  if (run.iterations < 64 * kChunk) {
    std::cout << "short run: not checking that every fault fired\n";
    return false;
  }
  for (const auto& [name, value] : run.ledger.counters()) {
    if (absl::StartsWith(name, "A fired") || absl::StartsWith(name, "B fired")) {
      EXPECT_GT(value, 0u) << name << ": run longer (--seconds) for every fault to fire";
    }
  }
  return true;
}

uint64_t seed_for_run() { return flags.seed != 0 ? flags.seed : std::random_device{}() | 1; }

}  // namespace safenic::soak
