// ViolationLog: what a strict device model saw a driver do wrong. Tests assert
// it stays empty; a failing test prints every entry.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/str_join.h"

namespace safenic::sim {

class ViolationLog {
 public:
  void report(std::string what) { entries_.push_back(std::move(what)); }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const std::vector<std::string>& entries() const { return entries_; }
  std::string to_string() const { return absl::StrJoin(entries_, "\n"); }
  void clear() { entries_.clear(); }

 private:
  std::vector<std::string> entries_;
};

}  // namespace safenic::sim
