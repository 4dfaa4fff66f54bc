#!/usr/bin/env bash
# safenic used from outside its repository, as the README's "Using safenic in
# your project" says, in CI (.ci/run):
#   1. the README's recipes are these consumer files, verbatim but for paths;
#   2. the Bazel and CMake builds list the same source files;
#   3. a Bazel workspace of its own (tests/consumer) builds and runs a
#      program on @safenic and one on @safenic//:sim, and safenic's targets
#      use the workspace's own @com_google_absl when it has one;
#   4. CMake builds and installs safenic to a fresh prefix (its examples too),
#      then a CMake project (find_package) and pkg-config builds link it.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- [1/4] the README's recipes are tests/consumer's files"
python3 - <<'PY'
import re, sys
readme = open("README.md").read()
checks = [  # file, then (in the file, in the README) for its paths
    ("tests/consumer/WORKSPACE", [('path = "../.."', 'path = "/path/to/safenic"')]),
    ("tests/consumer/BUILD.bazel", []),
    ("tests/consumer/cmake/CMakeLists.txt",
     [("../production.cc", "production.cc"), ("../consumer.cc", "consumer.cc")]),
]
bad = False
for path, swaps in checks:
    m = re.search(r"<!-- consumer: %s[^>]*-->\n```[a-z]*\n(.*?)```" % re.escape(path), readme, re.S)
    if not m:
        print("README.md has no recipe marked <!-- consumer: %s -->" % path); bad = True; continue
    text = open(path).read()
    for in_file, in_readme in swaps:
        text = text.replace(in_file, in_readme)
    if text != m.group(1):
        print("README.md's recipe differs from %s:" % path)
        import difflib
        sys.stdout.writelines(difflib.unified_diff(m.group(1).splitlines(True), text.splitlines(True), "README.md", path))
        bad = True
sys.exit(1 if bad else 0)
PY

echo "-- [2/4] Bazel and CMake list the same files"
./bazelw query 'kind("source file", deps(//:safenic))' 2>/dev/null >"$work/safenic.txt"
./bazelw query 'kind("source file", deps(//:sim)) except kind("source file", deps(//:safenic))' \
  2>/dev/null >"$work/sim.txt"
./bazelw query 'kind("source file", deps(//examples:all)) except kind("source file", deps(//:sim))' \
  2>/dev/null >"$work/examples.txt"
python3 tests/consumer/check_sources.py CMakeLists.txt "$work/safenic.txt" "$work/sim.txt" \
  "$work/examples.txt"

echo "-- [3/4] a Bazel workspace that uses safenic (tests/consumer)"
(
  cd tests/consumer
  ../../bazelw build //:consumer //:production
  ./bazel-bin/consumer
  ./bazel-bin/production
  # A workspace with an Abseil of its own (declared before safenic's call, or
  # overridden as here) gets safenic built against that copy: one Abseil.
  own="$work/own_absl"
  cp -rL "$(../../bazelw info output_base 2>/dev/null)/external/com_google_absl" "$own"
  sed -i 's/^cc_library(/cc_library(\n    tags = ["the_workspace_s_own_abseil"],/' "$own/absl/status/BUILD.bazel"
  found=$(../../bazelw query --override_repository=com_google_absl="$own" \
    'attr(tags, the_workspace_s_own_abseil, deps(@safenic//:safenic))' 2>/dev/null)
  [[ $found == *"@com_google_absl//absl/status:status"* ]] ||
    { echo "FAIL: @safenic//:safenic does not use the workspace's own @com_google_absl: $found"; exit 1; }
  echo "@safenic//:safenic builds against the workspace's own @com_google_absl: $(tr '\n' ' ' <<<"$found")"
  ../../bazelw shutdown  # its server's memory back
)

echo "-- [4/4] CMake: build, install, then find_package and pkg-config projects"
cmake -S . -B "$work/build" -DCMAKE_INSTALL_PREFIX="$work/prefix" >"$work/cmake.log" ||
  { cat "$work/cmake.log"; exit 1; }
cmake --build "$work/build" -j"$(nproc)" >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; exit 1; }
cmake --install "$work/build" >/dev/null
"$work/build/hello"
cmake -S tests/consumer/cmake -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >"$work/consumer.log" 2>&1 || { cat "$work/consumer.log"; exit 1; }
"$work/consumer/consumer"
"$work/consumer/production"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
echo "pkg-config: safenic $(pkg-config --modversion safenic), safenic-sim $(pkg-config --modversion safenic-sim)"
# shellcheck disable=SC2046  # pkg-config's output is a list of flags
g++ -o "$work/pc_consumer" tests/consumer/consumer.cc $(pkg-config --cflags --libs safenic-sim)
# shellcheck disable=SC2046
g++ -o "$work/pc_production" tests/consumer/production.cc $(pkg-config --cflags --libs safenic)
"$work/pc_consumer"
"$work/pc_production"
echo "consumers passed"
