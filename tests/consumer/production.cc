// A production binary from outside safenic's repository, on the production
// target alone (Bazel //:safenic, CMake safenic::safenic, pkg-config safenic):
// the drivers are registered, the simulator is not linked and says so.
#include <cstdio>
#include <string>

#include "nic/open.h"
#include "nic/version.h"

int main() {
  if (safenic::driver_for({0x8086, 0x10fb}) != "ixgbe") {
    std::fprintf(stderr, "production: the ixgbe driver is not registered\n");
    return 1;
  }
  auto dev = safenic::open_device("sim:82599");
  const std::string message(dev.status().message());
  if (dev.ok() || message.find("safenic::sim") == std::string::npos) {
    std::fprintf(stderr, "production: expected the message naming the simulator, got: %s\n",
                 message.c_str());
    return 1;
  }
  std::printf("production: safenic %s, drivers registered, no simulator linked\n",
              safenic::kVersion);
  return 0;
}
