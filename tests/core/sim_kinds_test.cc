// The simulated NIC kinds (sim/catalog.h) by name and by alias through
// open_device(), each NIC with a name and a MAC address of its own, and the
// Testbed making any kind.
#include <fstream>
#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nic/open.h"
#include "sim/catalog.h"
#include "sim/harness/testbed.h"
#include "sim/ixgbe/model.h"
#include "sim/mlx5/model.h"
#include "sim/simulated_function.h"

namespace safenic {
namespace {

using ::testing::HasSubstr;

DeviceConfig small() {
  DeviceConfig c;
  c.rx_ring_size = c.tx_ring_size = 64;
  c.buffers_per_rx_queue = 128;
  return c;
}

TEST(SimKinds, EveryKindOpensByNameAndAliasEachWithItsOwnNameAndMac) {
  std::set<std::string> names, macs;
  size_t opened = 0;
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    std::vector<std::string> specs = {"sim:" + std::string(k.name)};
    for (absl::string_view a : absl::StrSplit(k.aliases, ','))
      specs.push_back("sim:" + std::string(a));
    specs.push_back("sim:" + absl::AsciiStrToUpper(std::string(k.name)));  // case does not matter
    for (const std::string& spec : specs) {
      auto dev = open_device(spec, small());
      ASSERT_TRUE(dev.ok()) << spec << ": " << dev.status();
      ++opened;
      names.insert((*dev)->name());
      macs.insert((*dev)->mac().to_string());
      EXPECT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok()) << spec;  // the loopback plug
    }
  }
  EXPECT_EQ(names.size(), opened);
  EXPECT_EQ(macs.size(), opened);
}

// Every driver (all linked here) names its devices from its own table, and
// open_device's error for an unknown device lists them with their families.
TEST(SimKinds, EveryLinkedDriverNamesItsDevices) {
  EXPECT_EQ(device_model({0x8086, 0x10FB}), "Intel 82599ES 10 GbE (SFI/SFP+)");
  EXPECT_EQ(device_model({0x1AF4, 0x1000}), "virtio-net (legacy)");
  EXPECT_EQ(device_model({0x1AF4, 0x1041}), "virtio-net (modern)");
  EXPECT_EQ(device_model({0x15B3, 0x1013}), "NVIDIA ConnectX-4");
  EXPECT_EQ(device_model({0x15B3, 0x1015}), "NVIDIA ConnectX-4 Lx");
  EXPECT_EQ(device_model({0x15B3, 0x1017}), "NVIDIA ConnectX-5");
  EXPECT_EQ(device_model({0x15B3, 0x1019}), "NVIDIA ConnectX-5 Ex");
  EXPECT_EQ(driver_for({0x15B3, 0x1019}), "mlx5");
  EXPECT_EQ(driver_for({0x1AF4, 0x1000}), "virtio");
}

// The README's table of sim: specs says what the registry has: every kind
// linked here, once, and only aliases each kind answers to.
TEST(SimKinds, TheReadmesTableIsTheRegistry) {
  std::ifstream in("README.md");
  ASSERT_TRUE(in) << "README.md not found in the test's runfiles";
  std::string line;
  while (std::getline(in, line) && line != "| spec | the NIC | also accepted |") {
  }
  ASSERT_TRUE(in) << "README.md has no table of sim: specs";
  std::getline(in, line);  // |---|---|---|
  std::set<std::string> listed;
  while (std::getline(in, line) && absl::StartsWith(line, "| `sim:")) {
    const std::vector<std::string> cells = absl::StrSplit(line, " | ");
    ASSERT_EQ(cells.size(), 3u) << line;
    const std::string name(absl::StripSuffix(absl::StripPrefix(cells[0], "| `sim:"), "`"));
    const sim::SimulatedKind* kind = sim::find_kind(name);
    ASSERT_NE(kind, nullptr) << "README lists sim:" << name << ", which is not registered";
    EXPECT_EQ(kind->name, name) << "README lists an alias as a kind's name";
    EXPECT_TRUE(listed.insert(name).second) << "README lists sim:" << name << " twice";
    for (absl::string_view alias : absl::StrSplit(absl::StripSuffix(cells[2], " |"), ", ")) {
      const std::string a(absl::StripSuffix(absl::StripPrefix(alias, "`sim:"), "`"));
      const sim::SimulatedKind* by_alias = sim::find_kind(a);
      EXPECT_TRUE(by_alias != nullptr && by_alias->name == name)
          << "README: sim:" << a << " is not an alias of sim:" << name;
    }
  }
  std::set<std::string> registered;
  for (const sim::SimulatedKind* k : sim::simulated_kinds())
    registered.insert(std::string(k->name));
  EXPECT_EQ(listed, registered);
}

TEST(SimKinds, AnUnknownKindListsTheKnownOnes) {
  auto dev = open_device("sim:connectx-9", small());
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(dev.status().message()),
              HasSubstr("no simulated NIC model 'connectx-9'; available: sim:82599, sim:cx4, "
                        "sim:cx4lx, sim:cx5, sim:virtio, sim:virtio-legacy, sim:virtio-split"));
  EXPECT_EQ(sim::find_kind("connectx-9"), nullptr);
  EXPECT_THAT(sim::kinds_help(), HasSubstr("sim:connectx-5"));
  sim::Testbed bed;
  auto added = bed.add("connectx-9", small());
  EXPECT_EQ(added.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(added.status().message()), HasSubstr("available: sim:82599"));
}

// Kinds register themselves from their models' folders; a name or an alias
// another kind has is refused, and the registry stays as it was.
TEST(SimKinds, AKindWhoseNameIsTakenIsRefused) {
  const size_t kinds = sim::simulated_kinds().size();
  auto make = [](sim::SimContext, MacAddress) { return sim::SimulatedNic{}; };
  EXPECT_FALSE(
      sim::register_simulated_kind({"ConnectX-5", "", "a clash by alias, case ignored", {}, make}));
  EXPECT_FALSE(
      sim::register_simulated_kind({"new-nic", "x,82599", "a clash by an alias", {}, make}));
  EXPECT_EQ(sim::simulated_kinds().size(), kinds);
  EXPECT_EQ(sim::find_kind("new-nic"), nullptr);
  EXPECT_EQ(sim::find_kind("connectx-5")->name, "cx5");
}

// Testbed::model<M>(i) is checked: the wrong model (or no NIC) stops the
// program and says which NIC is what.
TEST(SimKindsDeathTest, TheTestbedsModelAccessorIsChecked) {
  sim::Testbed bed;
  ASSERT_TRUE(bed.add("82599", small()).ok());
  EXPECT_EQ(bed.model<sim::Ixgbe82599>(0).id().device, 0x10FB);
  EXPECT_DEATH(bed.model<sim::ConnectXModel>(0), "NIC 0 is sim:82599#0, another model");
  EXPECT_DEATH(bed.model<sim::Ixgbe82599>(1), "no such NIC");
}

TEST(SimKinds, TheTestbedMakesEveryKindAndTheyTalk) {
  sim::Testbed bed;
  std::vector<std::unique_ptr<Device>> devs;
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    auto dev = bed.add(k.name, small());
    ASSERT_TRUE(dev.ok()) << k.name << ": " << dev.status();
    devs.push_back(*std::move(dev));
  }
  // By name: 82599, cx4, cx4lx, cx5, virtio, virtio-legacy, virtio-split.
  sim::connect(bed.port(0), bed.port(3));  // an 82599 and a ConnectX-5
  ASSERT_TRUE(devs[0]->wait_for_link(absl::Seconds(1)).ok());
  ASSERT_TRUE(devs[3]->wait_for_link(absl::Seconds(1)).ok());
  EXPECT_EQ(devs[0]->driver(), "ixgbe");
  EXPECT_EQ(devs[3]->driver(), "mlx5");
  EXPECT_EQ(devs[4]->driver(), "virtio");
}

// One simulated NIC of a kind on its own Testbed, cabled to a TesterPort, link up.
struct CabledNic {
  sim::Testbed bed;
  sim::TesterPort peer;
  std::unique_ptr<Device> dev;
  absl::Status open(absl::string_view kind) {
    auto opened = bed.add(kind, small());
    if (!opened.ok()) return opened.status();
    dev = *std::move(opened);
    sim::connect(bed.port(0), peer);
    return dev->wait_for_link(absl::Seconds(1));
  }
};

// DeviceModel::receiving(): a model takes frames from its port only once
// its link is up and its driver has set up receiving; on every kind (a wire
// replaying a file waits for it).
TEST(SimKinds, AModelReceivesOnceItsDriverHasSetUpReceiving) {
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    SCOPED_TRACE(std::string(k.name));
    sim::SimContext ctx;
    auto nic = sim::make_simulated_nic(k.name, ctx, 1);
    ASSERT_TRUE(nic.ok()) << nic.status();
    sim::TesterPort peer;
    sim::connect(*nic->port, peer);
    ctx.clock->advance(absl::Seconds(1));
    nic->model->progress();
    EXPECT_FALSE(nic->model->receiving());  // no driver yet
    auto dev =
        open_device(std::make_unique<sim::SimulatedFunction>(nic->model, ctx, "sim"), small());
    ASSERT_TRUE(dev.ok()) << dev.status();
    ASSERT_TRUE((*dev)->wait_for_link(absl::Seconds(1)).ok());
    EXPECT_TRUE(nic->model->receiving());
    sim::disconnect(*nic->port);
    EXPECT_FALSE(nic->model->receiving());  // no link
  }
}

// Device::reclaim_tx: sent buffers come home while the device stays open, on
// every driver; what it says it freed is what came home.
TEST(SimKinds, ReclaimTxReturnsSentBuffersOnEveryDriver) {
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    SCOPED_TRACE(std::string(k.name));
    CabledNic nic;
    ASSERT_TRUE(nic.open(k.name).ok());
    MempoolPtr pool = *nic.dev->create_mempool({.buffers = 64, .tag = "app"});
    Batch<16> out;
    for (int i = 0; i < 10; ++i) {
      Packet p = pool->alloc();
      ASSERT_TRUE(p.resize(60).ok());
      sim::write_udp_frame(p.bytes(), {}, i);
      out.push(std::move(p));
    }
    ASSERT_EQ(*nic.dev->tx_batch(0, out), 10u);
    EXPECT_EQ(nic.peer.received(), 10u);
    const size_t held = pool->in_use();
    EXPECT_EQ(held, 10u);  // every driver reclaims lazily: all ten still out
    auto freed = nic.dev->reclaim_tx(0);
    ASSERT_TRUE(freed.ok()) << freed.status();
    EXPECT_EQ(*freed, held);
    EXPECT_EQ(pool->in_use(), 0u);
    EXPECT_EQ(*nic.dev->reclaim_tx(0), 0u);     // nothing more
    EXPECT_FALSE(nic.dev->reclaim_tx(1).ok());  // one TX queue
    EXPECT_TRUE(nic.bed.context().log->empty()) << nic.bed.context().log->to_string();
  }
}

// The first test a user writes: frames from bed.flow_to(i) reach NIC i on
// every kind; frames for another address do not, and the report says why
// (and on the 82599 so does RXNFGPC, counting good frames before the filter).
TEST(SimKinds, FlowsToANicArriveAndFilteredFramesAreReported) {
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    SCOPED_TRACE(std::string(k.name));
    CabledNic nic;
    ASSERT_TRUE(nic.open(k.name).ok());
    EXPECT_EQ(nic.bed.flow_to(0).dst_mac, nic.dev->mac());
    EXPECT_THAT(nic.bed.report(), HasSubstr("NIC 0 (sim:"));
    EXPECT_THAT(nic.bed.report(), HasSubstr("no frame dropped"));
    for (uint64_t i = 0; i < 5; ++i) nic.peer.send(sim::udp_frame(60, nic.bed.flow_to(0), i));
    for (uint64_t i = 0; i < 3; ++i) nic.peer.send(sim::udp_frame(60, sim::UdpFlow{}, i));
    Batch<16> in;
    EXPECT_EQ(*nic.dev->rx_batch(0, in), 5u);
    for (const Packet& p : in) EXPECT_LT(sim::frame_seq(p.bytes()), 5u);
    const std::string report = nic.bed.report();
    EXPECT_THAT(report, HasSubstr(nic.dev->mac().to_string()));
    EXPECT_THAT(report, HasSubstr(k.name == "82599" || absl::StartsWith(k.name, "virtio")
                                      ? " rx_filtered 3"
                                      : " rx_vport_filter 3"));
    EXPECT_THAT(report, HasSubstr("driver mistakes: none"));
    if (k.name == "82599") {
      auto stats = nic.dev->stats();
      ASSERT_TRUE(stats.ok()) << stats.status();
      EXPECT_EQ(stats->counters["RXNFGPC"], 8u);
      EXPECT_EQ(stats->counters["RXNFGBC"], 8u * 64);  // 60 bytes and the CRC
      EXPECT_EQ(stats->counters["GPRC"], 5u);
      EXPECT_EQ(stats->counters["MPC"], 0u);
    }
  }
}

// When the platform asks for a device back (a hot unplug under VFIO), every
// driver's rx_batch and tx_batch fail saying to close it; closing returns
// every buffer and ring.
TEST(SimKinds, ADeviceAskedBackFailsItsBatchesClearlyAndClosesClean) {
  for (const sim::SimulatedKind* kind : sim::simulated_kinds()) {
    const sim::SimulatedKind& k = *kind;
    SCOPED_TRACE(std::string(k.name));
    CabledNic nic;
    ASSERT_TRUE(nic.open(k.name).ok());
    MempoolPtr pool = *nic.dev->create_mempool({.buffers = 16, .tag = "app"});
    Batch<8> batch;
    ASSERT_EQ(*nic.dev->rx_batch(0, batch), 0u);
    nic.bed.function(0).request_removal();
    auto rx = nic.dev->rx_batch(0, batch);
    EXPECT_EQ(rx.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(std::string(rx.status().message()), HasSubstr("asks for the device back"));
    ASSERT_TRUE(pool->alloc_bulk(batch, 2) == 2);
    auto tx = nic.dev->tx_batch(0, batch);
    EXPECT_EQ(tx.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(batch.size(), 2u);  // nothing taken: the packets stay the caller's
    batch.clear();
    nic.dev.reset();
    EXPECT_EQ(pool->in_use(), 0u);
    pool.reset();
    EXPECT_EQ(nic.bed.context().iommu->live_regions(), 0u);
    EXPECT_TRUE(nic.bed.context().log->empty()) << nic.bed.context().log->to_string();
  }
}

}  // namespace
}  // namespace safenic
