// mem/status.h: the status macros every library uses.
#include "mem/status.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace safenic {
namespace {

absl::Status returns_if_error(absl::Status first, int* reached) {
  SAFENIC_RETURN_IF_ERROR(first);
  ++*reached;
  return absl::OkStatus();
}

// A StatusOr whose value is not needed: its status is what counts.
absl::Status returns_if_error_of(absl::StatusOr<std::unique_ptr<int>> first, int* reached) {
  SAFENIC_RETURN_IF_ERROR(first);
  ++*reached;
  return absl::OkStatus();
}

absl::StatusOr<int> doubled(absl::StatusOr<std::unique_ptr<int>> in) {
  SAFENIC_ASSIGN_OR_RETURN(auto value, std::move(in));  // move-only values move
  return *value * 2;
}

TEST(StatusMacros, ReturnIfErrorTakesAStatusOrAStatusOr) {
  int reached = 0;
  EXPECT_TRUE(returns_if_error(absl::OkStatus(), &reached).ok());
  EXPECT_EQ(returns_if_error(absl::NotFoundError("x"), &reached), absl::NotFoundError("x"));
  EXPECT_EQ(reached, 1);
  EXPECT_TRUE(returns_if_error_of(std::make_unique<int>(1), &reached).ok());
  EXPECT_EQ(returns_if_error_of(absl::DataLossError("y"), &reached), absl::DataLossError("y"));
  EXPECT_EQ(reached, 2);
}

TEST(StatusMacros, AssignOrReturnAssignsOrReturnsTheError) {
  EXPECT_EQ(*doubled(std::make_unique<int>(21)), 42);
  EXPECT_EQ(doubled(absl::UnavailableError("z")).status(), absl::UnavailableError("z"));
}

TEST(StatusMacrosDeathTest, CheckStopsWithTheConditionAndTheMessage) {
  EXPECT_DEATH(SAFENIC_CHECK(1 + 1 == 3, "arithmetic"), "1 \\+ 1 == 3 \\(arithmetic\\)");
}

}  // namespace
}  // namespace safenic
