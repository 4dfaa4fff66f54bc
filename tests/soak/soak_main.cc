// main() of the soak tests: GoogleTest's flags, then the soak's own
// (tests/soak/forwarding_soak.h): --seconds=N, --seed=N, --iterations=N.
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "tests/soak/forwarding_soak.h"

namespace {

bool parse_flag(absl::string_view arg, safenic::soak::Flags& flags) {
  auto value = [&](absl::string_view name) {
    return absl::StartsWith(arg, name) ? arg.substr(name.size()) : absl::string_view();
  };
  if (auto v = value("--seconds="); !v.empty()) return absl::SimpleAtod(v, &flags.seconds);
  if (auto v = value("--seed="); !v.empty()) return absl::SimpleAtoi(v, &flags.seed);
  if (auto v = value("--iterations="); !v.empty()) return absl::SimpleAtoi(v, &flags.iterations);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);  // takes out its own flags
  for (int i = 1; i < argc; ++i) {
    if (!parse_flag(argv[i], safenic::soak::flags)) {
      std::cerr << "unknown or bad flag " << argv[i]
                << "; the soak takes --seconds=N, --seed=N and --iterations=N\n";
      return 2;
    }
  }
  return RUN_ALL_TESTS();
}
