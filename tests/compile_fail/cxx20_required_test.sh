#!/usr/bin/env bash
# A consumer's code built as C++17 that includes safenic gets mem/cxx20.h's
# message first, not an error deep inside a template; as C++20 it compiles.
set -uo pipefail
cxx=$(command -v c++ || command -v g++)
src=$(mktemp --suffix=.cc)
trap 'rm -f "$src"' EXIT
printf '#include "nic/device.h"\nint main() { return 0; }\n' >"$src"
if out=$("$cxx" -std=c++17 -fsyntax-only -I"$PWD" "$src" 2>&1); then
  echo "FAIL: C++17 compiled"; exit 1
fi
first_error=$(grep -m1 'error' <<<"$out")
if ! grep -q 'safenic needs C++20' <<<"$first_error"; then
  echo "FAIL: the first error is not safenic's message:"; echo "$out" | head -20; exit 1
fi
echo "ok: C++17 stops with: $first_error"
"$cxx" -std=c++20 -fsyntax-only -I"$PWD" "$src" || { echo "FAIL: C++20 does not compile"; exit 1; }
echo "ok: C++20 compiles"
