#include "sim/kinds.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace safenic::sim {

const KindInfo* find_kind(absl::string_view name) {
  const std::string want = absl::AsciiStrToLower(name);
  for (const KindInfo& k : kKinds) {
    if (want == k.name) return &k;
    for (absl::string_view alias : absl::StrSplit(k.aliases, ',')) {
      if (want == alias) return &k;
    }
  }
  return nullptr;
}

std::string kinds_help() {
  std::string out;
  for (const KindInfo& k : kKinds) {
    std::vector<std::string> aliases;
    for (absl::string_view a : absl::StrSplit(k.aliases, ',')) aliases.push_back(absl::StrCat("sim:", a));
    absl::StrAppendFormat(&out, "  sim:%-15s %s (also %s)\n", k.name, k.what, absl::StrJoin(aliases, ", "));
  }
  return out;
}

std::string kind_names() {
  std::vector<std::string> names;
  for (const KindInfo& k : kKinds) names.push_back(absl::StrCat("sim:", k.name));
  return absl::StrJoin(names, ", ");
}

}  // namespace safenic::sim
