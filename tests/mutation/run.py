#!/usr/bin/env python3
"""Mutation testing: does each plausible bug in tests/mutation/mutations.py make a test fail?

Usage: tests/mutation/run.py [--only ID,ID...] [--report FILE]

Copies the working tree to a scratch directory (the checkout is never
touched), checks that every test group passes there unmutated, then applies
each mutation in turn, runs the tests of its group, and puts the source back.
A mutation is killed when a test fails, killed at build when the mutant does
not compile, and survives when every test passes: a gap to close with a test,
or a mutant that behaves as the original (then say why in the README).
Prints a Markdown table (also to --report) and exits 1 if any survived.

The scratch copy has a Bazel output base of its own; the first run builds
everything once (a few minutes), later mutations rebuild only what they touch.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from mutations import MUTATIONS  # noqa: E402

SCRATCH = os.environ.get("SAFENIC_MUTATION_DIR", "/tmp/safenic-mutation")


def bazel(src, targets):
    flags = [t for t in targets if t.startswith("--")]
    cmd = ["./bazelw", "--output_base=" + os.path.join(SCRATCH, "output_base"), "test"] + flags + [
        "--test_output=errors", "--test_timeout=300", "--noshow_progress"] + [t for t in targets if not t.startswith("--")]
    return subprocess.run(cmd, cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", help="comma-separated mutation ids")
    parser.add_argument("--report", help="also write the table to this file")
    args = parser.parse_args()
    chosen = MUTATIONS
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [m for m in MUTATIONS if m[0] in wanted]
        missing = wanted - {m[0] for m in chosen}
        if missing:
            sys.exit("no mutation named %s" % ", ".join(sorted(missing)))

    ids = [m[0] for m in MUTATIONS]
    if len(ids) != len(set(ids)):
        sys.exit("mutation ids must be unique")
    src = os.path.join(SCRATCH, "src")
    os.makedirs(SCRATCH, exist_ok=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                           stdout=subprocess.PIPE, text=True).stdout.split("\n")
    shutil.rmtree(src, ignore_errors=True)
    for f in filter(None, files):
        if not os.path.exists(os.path.join(ROOT, f)):
            continue  # deleted in the working tree
        os.makedirs(os.path.join(src, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))

    # Every mutation must apply exactly once, before anything is run.
    for mid, path, find, _, _, _ in chosen:
        with open(os.path.join(src, path)) as f:
            n = f.read().count(find)
        if n != 1:
            sys.exit("%s: the text to mutate occurs %d times in %s (must be once)" % (mid, n, path))

    groups = sorted({tuple(m[4]) for m in chosen})
    for g in groups:
        r = bazel(src, list(g))
        if r.returncode != 0:
            print(r.stdout[-4000:])
            sys.exit("the unmutated tree fails %s: fix that first" % " ".join(g))

    rows, survivors = [], []
    for mid, path, find, replace, targets, what in chosen:
        full = os.path.join(src, path)
        with open(full) as f:
            original = f.read()
        with open(full, "w") as f:
            f.write(original.replace(find, replace))
        start = time.time()
        r = bazel(src, list(targets))
        with open(full, "w") as f:
            f.write(original)
        if r.returncode == 0:
            result = "SURVIVED"
            survivors.append(mid)
        elif "FAILED TO BUILD" in r.stdout or r.returncode == 1:
            result = "killed at build"
        else:
            failed = sorted({line.split()[0] for line in r.stdout.splitlines()
                             if line.startswith("//") and "FAILED" in line})
            result = "killed: " + ", ".join(t.split(":")[-1] for t in failed)
        rows.append((mid, path, what, result, time.time() - start))
        print("%-28s %-60s %5.0fs" % (mid, result, time.time() - start), flush=True)

    killed = len(rows) - len(survivors)
    lines = ["| mutation | file | the bug | result |", "|---|---|---|---|"]
    lines += ["| `%s` | `%s` | %s | %s |" % (mid, path, what, result) for mid, path, what, result, _ in rows]
    lines.append("")
    lines.append("Score: %d of %d killed (%.0f%%)." % (killed, len(rows), 100.0 * killed / max(1, len(rows))))
    table = "\n".join(lines)
    print()
    print(table)
    if args.report:
        with open(args.report, "w") as f:
            f.write(table + "\n")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
