// A service linked against the production target (//:safenic) alone: the
// drivers are there, the simulator is not, and asking for a simulated NIC
// says what to link. production_test.sh also checks the binary itself.
#include <cstdio>
#include <string>

#include "nic/open.h"

int main() {
  // An 82599's PCI id: its driver is linked.
  if (safenic::driver_for({0x8086, 0x10fb}) != "ixgbe") {
    std::fprintf(stderr, "FAIL: the ixgbe driver is not registered\n");
    return 1;
  }
  auto dev = safenic::open_device("sim:82599");
#ifdef SAFENIC_EXPECT_SIM
  if (!dev.ok()) {
    std::fprintf(stderr, "FAIL: %s\n", std::string(dev.status().message()).c_str());
    return 1;
  }
#else
  const std::string message(dev.status().message());
  if (dev.ok() || message.find("//:sim") == std::string::npos ||
      message.find("safenic::sim") == std::string::npos) {
    std::fprintf(stderr, "FAIL: expected an error naming //:sim, got: %s\n", message.c_str());
    return 1;
  }
  std::printf("%s\n", message.c_str());
#endif
  std::printf("PASS\n");
  return 0;
}
