#!/usr/bin/env bash
# Usage (from sh_test args): compile_fail_example.sh <source, as $(rootpath ...)>
# Passes iff the source fails to compile. Bazel runs tests with the current directory
# set to the runfiles root of the main workspace, so repo-relative paths work both
# for the argument and for -I.
set -uo pipefail
src="$1"
root="$PWD"  # == $TEST_SRCDIR/$TEST_WORKSPACE
cxx=$(command -v c++ || command -v g++ || echo /usr/bin/c++)
if out=$("$cxx" -std=c++20 -fsyntax-only -I"$root" "$src" 2>&1); then
  echo "FAIL: $src compiled, but it must not" >&2
  exit 1
fi
if ! grep -q "use of deleted function" <<<"$out"; then
  echo "FAIL: $src failed for an unexpected reason:" >&2
  echo "$out" >&2
  exit 1
fi
echo "PASS: $src does not compile, as expected"
