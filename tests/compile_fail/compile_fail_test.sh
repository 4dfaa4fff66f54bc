#!/usr/bin/env bash
# Compile-failure test: $1 must compile as is, and must fail to compile with
# each "// CASE NAME: message" it declares (-DCASE_NAME), printing `message`.
# Bazel runs tests from the runfiles root, so repo-relative paths work.
set -uo pipefail
src="$1"
cxx=$(command -v c++ || command -v g++)
out_dir=$(mktemp -d)
trap 'rm -rf "$out_dir"' EXIT

# Prints "ok ..." or "FAIL ..." for one case (empty name: the control build).
check() {
  local name="$1" want="$2" out
  if [[ -z "$name" ]]; then
    out=$("$cxx" -std=c++20 -fsyntax-only -I"$PWD" "$src" 2>&1) &&
      echo "ok: compiles without a CASE" ||
      { echo "FAIL: does not compile without a CASE; the harness is broken:"; echo "$out"; }
  elif out=$("$cxx" -std=c++20 -fsyntax-only -I"$PWD" "-DCASE_$name" "$src" 2>&1); then
    echo "FAIL: CASE_$name compiled, but the rule must reject it ($want)"
  elif ! grep -qF -- "$want" <<<"$out"; then
    echo "FAIL: CASE_$name failed without \"$want\":"
    echo "$out" | head -20
  else
    echo "ok: CASE_$name rejected: $want"
  fi
}

jobs_max=$(nproc)
i=0
check "" "" >"$out_dir/0" &
while IFS= read -r line; do
  i=$((i + 1))
  name=$(sed -E 's|^ *// CASE ([A-Z0-9_]+): .*|\1|' <<<"$line")
  want=$(sed -E 's|^ *// CASE [A-Z0-9_]+: (.*)$|\1|' <<<"$line")
  check "$name" "$want" >"$out_dir/$i" &
  while (($(jobs -rp | wc -l) >= jobs_max)); do wait -n; done
done < <(grep -E '^ *// CASE [A-Z0-9_]+: ' "$src")
wait
cat $(ls "$out_dir" | sort -n | sed "s|^|$out_dir/|")
failed=$(cat "$out_dir"/* | grep -c '^FAIL')
echo "$((i + 1 - failed)) passed, $failed failed"
[[ $i -gt 0 && $failed -eq 0 ]]
