#!/usr/bin/env python3
"""The Bazel and CMake builds list the same files: fails when a source or
header is in one and not the other.

Usage: check_sources.py CMakeLists.txt SAFENIC_LIST SIM_LIST EXAMPLES_LIST
where each list is `bazel query` output (labels like //nic/pci:vfio.cc) of
//:safenic's files, //:sim's own files, and the examples' files.
"""
import re
import sys


def labels_to_paths(path):
    out = set()
    for line in open(path):
        m = re.match(r"^//([^:]*):(.+\.(?:cc|h))$", line.strip())
        if m:
            out.add((m.group(1) + "/" + m.group(2)).lstrip("/"))
    return out


def cmake_set(text, name):
    m = re.search(r"set\(%s\n(.*?)\)" % name, text, re.S)
    if not m:
        sys.exit("CMakeLists.txt has no set(%s ...)" % name)
    return set(m.group(1).split())


def main():
    cmake, safenic_list, sim_list, examples_list = sys.argv[1:5]
    text = open(cmake).read()
    failures = []

    def compare(what, bazel, cmake_files):
        for f in sorted(bazel - cmake_files):
            failures.append("%s: %s is in the Bazel build, not in CMakeLists.txt" % (what, f))
        for f in sorted(cmake_files - bazel):
            failures.append("%s: %s is in CMakeLists.txt, not in the Bazel build" % (what, f))

    compare("//:safenic / safenic::safenic", labels_to_paths(safenic_list),
            cmake_set(text, "SAFENIC_SOURCES") | cmake_set(text, "SAFENIC_HEADERS"))
    compare("//:sim / safenic::sim", labels_to_paths(sim_list),
            cmake_set(text, "SAFENIC_SIM_SOURCES") | cmake_set(text, "SAFENIC_SIM_HEADERS"))
    # Every example program Bazel builds, CMake builds (their private headers stay private).
    bazel_examples = {f for f in labels_to_paths(examples_list) if f.endswith(".cc")}
    cmake_examples = {"examples/%s.cc" % e for e in re.findall(r"foreach\(example ([^)]*)\)", text)[0].split()}
    cmake_examples |= {f for f in re.findall(r"add_executable\(\S+ (examples/\S+\.cc)\)", text) if "$" not in f}
    compare("examples", bazel_examples, cmake_examples)

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print("Bazel and CMake list the same %d files" %
          (len(labels_to_paths(safenic_list)) + len(labels_to_paths(sim_list)) + len(bazel_examples)))


if __name__ == "__main__":
    main()
