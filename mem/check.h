// SAFENIC_CHECK: a precondition whose failure is a bug in safenic itself (never
// reachable from user input or device behaviour, which get an absl::Status).
#pragma once

#include "mem/cxx20.h"  // first: a clear message when not built as C++20

#include <cstdio>
#include <cstdlib>

#include "absl/base/optimization.h"

#define SAFENIC_CHECK(cond, msg)                                              \
  do {                                                                        \
    if (ABSL_PREDICT_FALSE(!(cond))) {                                        \
      std::fprintf(stderr, "%s:%d: safenic internal check failed: %s (%s)\n", \
                   __FILE__, __LINE__, #cond, msg);                           \
      std::abort();                                                           \
    }                                                                         \
  } while (0)
