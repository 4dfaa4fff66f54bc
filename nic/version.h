// safenic's version (semantic versioning; 0.x: the API may still change
// between minor versions, CHANGELOG.md says how). The one place it is
// written: CMakeLists.txt reads it from here for the package and the .pc file.
#pragma once

namespace safenic {

inline constexpr int kVersionMajor = 0;
inline constexpr int kVersionMinor = 1;
inline constexpr int kVersionPatch = 0;
inline constexpr char kVersion[] = "0.1.0";

}  // namespace safenic
