#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError(absl::StrFormat("%d is odd", x));
  return x / 2;
}

TEST(Smoke, StatusOrAndStrFormat) {
  ASSERT_TRUE(Half(4).ok());
  EXPECT_EQ(*Half(4), 2);
  EXPECT_EQ(Half(3).status().message(), "3 is odd");
}

TEST(Smoke, FlatHashMap) {
  absl::flat_hash_map<std::string, int> m = {{"a", 1}, {"b", 2}};
  m["c"] = 3;
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at("b"), 2);
}

}  // namespace
