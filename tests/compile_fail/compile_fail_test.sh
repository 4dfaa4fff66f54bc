#!/usr/bin/env bash
# Compile-failure test: $1 must compile as is, and must fail to compile with
# each "// CASE NAME: message" it declares (-DCASE_NAME), printing `message`.
# Bazel runs tests from the runfiles root, so repo-relative paths work.
set -uo pipefail
src="$1"
cxx=$(command -v c++ || command -v g++)
compile() { "$cxx" -std=c++20 -fsyntax-only -I"$PWD" "$@" "$src" 2>&1; }

if ! out=$(compile); then
  echo "FAIL: $src does not compile without a CASE; the harness is broken:" >&2
  echo "$out" >&2
  exit 1
fi
failed=0
cases=0
while IFS= read -r line; do
  name=$(sed -E 's|^ *// CASE ([A-Z0-9_]+): .*|\1|' <<<"$line")
  want=$(sed -E 's|^ *// CASE [A-Z0-9_]+: (.*)$|\1|' <<<"$line")
  cases=$((cases + 1))
  if out=$(compile "-DCASE_$name"); then
    echo "FAIL: CASE_$name compiled, but the rule must reject it ($want)"
    failed=$((failed + 1))
  elif ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL: CASE_$name failed without \"$want\":"
    echo "$out" | head -20
    failed=$((failed + 1))
  else
    echo "ok: CASE_$name rejected: $want"
  fi
done < <(grep -E '^ *// CASE [A-Z0-9_]+: ' "$src")
echo "$((cases - failed)) passed, $failed failed"
[[ $cases -gt 0 && $failed -eq 0 ]]
