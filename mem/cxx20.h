// safenic's headers are C++20 (concepts, designated initializers, <bit>,
// defaulted comparisons): a translation unit built as an older C++ stops
// here, with what to change, instead of deep inside a template.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error \
    "safenic needs C++20. Bazel: add 'build --cxxopt=-std=c++20 --host_cxxopt=-std=c++20' to your .bazelrc (safenic's own targets set it for themselves). CMake: link safenic::safenic, which requires cxx_std_20. pkg-config or by hand: compile with -std=c++20."
#endif
