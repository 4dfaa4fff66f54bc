// Ledger: named counters and the balances they must satisfy after a soak,
// e.g. "frames sent by the source = frames the application received + every
// counted drop". A balance that does not hold names each of its counters.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace safenic::soak {

class Ledger {
 public:
  // Records a counter (adding to it if recorded before).
  void add(const std::string& name, uint64_t value) { counters_[name] += value; }
  uint64_t get(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  const std::map<std::string, uint64_t>& counters() const { return counters_; }

  // Checks sum(lhs) == sum(rhs); on a mismatch, keeps a message listing every
  // counter of both sides with its value, and the difference.
  void balance(absl::string_view what, std::initializer_list<const char*> lhs,
               std::initializer_list<const char*> rhs) {
    const uint64_t l = sum(lhs), r = sum(rhs);
    if (l == r) return;
    mismatches_.push_back(
        absl::StrFormat("%s does not add up: %s = %d, but %s = %d (difference %d)", what,
                        terms(lhs), l, terms(rhs), r, static_cast<int64_t>(l - r)));
  }
  const std::vector<std::string>& mismatches() const { return mismatches_; }

  // One "name value" line per counter.
  std::string to_string() const {
    std::string out;
    for (const auto& [name, value] : counters_) absl::StrAppend(&out, "  ", name, " ", value, "\n");
    return out;
  }

 private:
  uint64_t sum(std::initializer_list<const char*> names) const {
    uint64_t s = 0;
    for (const char* n : names) s += get(n);
    return s;
  }
  std::string terms(std::initializer_list<const char*> names) const {
    std::vector<std::string> parts;
    for (const char* n : names) parts.push_back(absl::StrCat(n, " (", get(n), ")"));
    return absl::StrJoin(parts, " + ");
  }

  std::map<std::string, uint64_t> counters_;
  std::vector<std::string> mismatches_;
};

}  // namespace safenic::soak
