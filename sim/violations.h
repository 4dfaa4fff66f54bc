// ViolationLog: what a strict device model saw a driver do wrong. Tests assert
// it stays empty; a failing test prints every entry.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"

namespace safenic::sim {

class ViolationLog {
 public:
  void report(std::string what) {
    if (echo_) echo_(what);
    entries_.push_back(std::move(what));
  }
  // Also hands each report, as it happens, to `echo` (a program under
  // sim/launcher prints them).
  void set_echo(std::function<void(const std::string&)> echo) { echo_ = std::move(echo); }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const std::vector<std::string>& entries() const { return entries_; }
  std::string to_string() const { return absl::StrJoin(entries_, "\n"); }
  void clear() { entries_.clear(); }

 private:
  std::vector<std::string> entries_;
  std::function<void(const std::string&)> echo_;
};

}  // namespace safenic::sim
