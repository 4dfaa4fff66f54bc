// The helpers every layer of safenic uses for errors, in one place:
//   SAFENIC_CHECK(cond, msg)            a precondition whose failure is a bug in
//                                       safenic itself (never reachable from user
//                                       input or device behaviour, which get an
//                                       absl::Status): prints and aborts;
//   SAFENIC_DCHECK(cond, msg)           SAFENIC_CHECK in builds without NDEBUG
//                                       (tests, sanitizers), nothing in
//                                       optimized ones: for fast paths;
//   SAFENIC_RETURN_IF_ERROR(expr)       returns the absl::Status `expr` gives
//                                       unless it is OK;
//   SAFENIC_ASSIGN_OR_RETURN(lhs, expr) `expr` gives an absl::StatusOr: returns
//                                       its status unless OK, else assigns its
//                                       value to `lhs` (a variable, or a
//                                       declaration such as `auto x`).
#pragma once

#include "mem/cxx20.h"  // first: a clear message when not built as C++20

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SAFENIC_CHECK(cond, msg)                                                                  \
  do {                                                                                            \
    if (ABSL_PREDICT_FALSE(!(cond))) {                                                            \
      std::fprintf(stderr, "%s:%d: safenic internal check failed: %s (%s)\n", __FILE__, __LINE__, \
                   #cond, msg);                                                                   \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

#ifdef NDEBUG
#define SAFENIC_DCHECK(cond, msg) \
  do {                            \
  } while (0)
#else
#define SAFENIC_DCHECK(cond, msg) SAFENIC_CHECK(cond, msg)
#endif

// `expr` is an absl::Status, or an absl::StatusOr whose value is not needed.
#define SAFENIC_RETURN_IF_ERROR(expr)                                                 \
  do {                                                                                \
    if (::absl::Status safenic_status_ = ::safenic::status_internal::status_of(expr); \
        ABSL_PREDICT_FALSE(!safenic_status_.ok())) {                                  \
      return safenic_status_;                                                         \
    }                                                                                 \
  } while (0)

namespace safenic::status_internal {
inline const ::absl::Status& status_of(const ::absl::Status& s) { return s; }
template <typename T>
const ::absl::Status& status_of(const ::absl::StatusOr<T>& s) {
  return s.status();
}
}  // namespace safenic::status_internal

// (Not a do-while: a declaration in `lhs` stays in scope after it.)
#define SAFENIC_ASSIGN_OR_RETURN(lhs, expr) \
  SAFENIC_ASSIGN_OR_RETURN_IMPL_(SAFENIC_STATUS_CONCAT_(safenic_statusor_, __LINE__), lhs, expr)

#define SAFENIC_STATUS_CONCAT_INNER_(a, b) a##b
#define SAFENIC_STATUS_CONCAT_(a, b) SAFENIC_STATUS_CONCAT_INNER_(a, b)
#define SAFENIC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)         \
  auto statusor = (expr);                                           \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) return statusor.status(); \
  lhs = *std::move(statusor)
