// "testnic" as a simulated NIC kind: sim:testnic, Testbed::add("testnic").
#include "sim/catalog.h"
#include "tests/testdev/nic_model.h"

namespace safenic::testnic {
namespace {

sim::SimulatedNic make(sim::SimContext ctx, MacAddress mac) {
  return sim::make_model_nic<TestNicModel>(std::move(ctx), TestNicConfig{}, mac);
}

const bool kRegistered = sim::register_simulated_kind({"testnic", "made-up-nic",
                                                       "a made-up one-queue NIC (tests/testdev)",
                                                       TestNicConfig{}.mac, make});

}  // namespace
}  // namespace safenic::testnic
