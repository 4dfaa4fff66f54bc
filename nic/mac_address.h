#pragma once

#include <array>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace safenic {

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static absl::StatusOr<MacAddress> parse(absl::string_view text);  // "02:00:00:00:00:01"
  std::string to_string() const;
  bool is_multicast() const { return (bytes[0] & 1) != 0; }
  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

}  // namespace safenic
