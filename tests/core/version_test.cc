// The version in nic/version.h is consistent, and CHANGELOG.md's newest
// versioned entry is for it (a release bumps both; an "## Unreleased"
// section of changes since may come first).
#include "nic/version.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace safenic {
namespace {

TEST(Version, TheStringMatchesTheNumbers) {
  EXPECT_EQ(std::string(kVersion),
            absl::StrFormat("%d.%d.%d", kVersionMajor, kVersionMinor, kVersionPatch));
}

TEST(Version, TheChangelogsNewestEntryIsThisVersion) {
  std::ifstream in("CHANGELOG.md");
  ASSERT_TRUE(in) << "CHANGELOG.md not found in the test's runfiles";
  std::string line;
  // The first versioned entry (after changes not yet released, if any).
  while (std::getline(in, line) && (line.rfind("## ", 0) != 0 || line == "## Unreleased")) {
  }
  EXPECT_EQ(line.substr(0, 3 + std::string(kVersion).size() + 1),
            absl::StrFormat("## %s ", kVersion))
      << "CHANGELOG.md's first entry: " << line;
}

}  // namespace
}  // namespace safenic
