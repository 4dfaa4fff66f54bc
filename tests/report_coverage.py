#!/usr/bin/env python3
"""Which test triggers each violation the simulator can report?

Usage: report_coverage.py [--markdown] [--uncovered FILE] <sim sources...> -- <test sources...>

A report is a string literal passed to a model's fail()/report() or the
IOMMU's, with its printf conversions (%d, %#x, %s...). Its key is the longest
stretch of plain text between conversions; a report is covered when a test
source checks for that text (HasSubstr("...") or any string literal holding
it): its first and its longest stretch of text (10 characters or more),
each in a literal of one test file.
With --uncovered, the listed reports (one format string per line, '#' comments)
are the known gaps: the run fails when a report is neither covered nor listed,
or is listed although covered (the list only shrinks). --markdown prints the
report -> test table for the README.
"""

import difflib
import re
import sys

CALL = re.compile(r'(?:\b(?:fail|report|violation)\s*\(|std::string msg =)\s*(?:absl::StrFormat\s*\(\s*)?((?:"(?:[^"\\]|\\.)*"\s*)+)', re.S)
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')
CONVERSION = re.compile(r"%[#0-9.\-+ ]*[a-zA-Z]")
PREFIX = re.compile(r"^\s*(virtio-net|ConnectX|82599|IOMMU|IOMMU fault):\s*")


def reports(path):
    with open(path) as f:
        text = f.read()
    for m in CALL.finditer(text):
        fmt = "".join(LITERAL.findall(m.group(1)))
        line = text.count("\n", 0, m.start()) + 1
        # The plain-text stretches between conversions, without the device
        # prefix ("virtio-net: ", "ConnectX: ", "82599: "), which says nothing
        # about which report it is.
        chunks = [PREFIX.sub("", c).strip(" :;,.()") for c in CONVERSION.split(fmt)]
        chunks = [c for c in chunks if len(c) >= 10]
        if not chunks:
            continue  # nothing distinctive to look for
        yield max(chunks, key=len), chunks, fmt, "%s:%d" % (path, line)


def shares(chunk, literal):
    """Whether a test literal holds the chunk, or 16 characters of it in a row."""
    if chunk in literal:
        return True
    if len(literal) < 12:
        return False
    m = difflib.SequenceMatcher(None, chunk, literal, autojunk=False).find_longest_match(
        0, len(chunk), 0, len(literal))
    return m.size >= min(16, len(chunk))


def main():
    args = sys.argv[1:]
    markdown = "--markdown" in args
    args = [a for a in args if a != "--markdown"]
    uncovered_file = None
    if "--uncovered" in args:
        i = args.index("--uncovered")
        uncovered_file = args[i + 1]
        del args[i:i + 2]
    split = args.index("--")
    sim, tests = args[:split], args[split + 1:]
    test_literals = []
    for t in tests:
        with open(t) as f:
            text = f.read()
        # Character literals ('"' among them) would pair quotes wrongly, and
        # text in comments checks nothing.
        text = re.sub(r"'(?:[^'\\\n]|\\.)'", "' '", text)
        text = re.sub(r"//[^\n]*", lambda m: " " * len(m.group(0)) if '"' in m.group(0) else m.group(0), text)
        for m in LITERAL.finditer(text):
            test_literals.append((m.group(1), "%s:%d" % (t, text.count("\n", 0, m.start()) + 1)))

    by_file = {}
    for lit, w in test_literals:
        by_file.setdefault(w.split(":")[0], []).append((lit, w))
    rows = []
    for s in sim:
        for key, chunks, fmt, where in reports(s):
            # Its first and its longest stretch of text (what names the
            # report, what says the most), each held (or 16 characters of it)
            # by a literal of one test file.
            needed = {chunks[0], key}
            hit = None
            for literals in by_file.values():
                found = [next((w for lit, w in literals if shares(c, lit)), None) for c in needed]
                if all(found):
                    hit = found[0]
                    break
            rows.append((key, fmt, where, hit))

    known = set()
    if uncovered_file:
        with open(uncovered_file) as f:
            known = {l.strip() for l in f if l.strip() and not l.startswith("#")}
    errors = []
    for key, fmt, where, hit in rows:
        if hit is None and fmt not in known:
            errors.append("%s: no test checks the report \"%s\": add one (or list it in %s)" % (
                where, fmt, uncovered_file))
        if hit is not None and fmt in known:
            errors.append("%s: \"%s\" is covered by %s: remove it from %s" % (where, fmt, hit, uncovered_file))
    for key in known - {r[1] for r in rows}:
        errors.append("%s lists \"%s\", which no model reports any more" % (uncovered_file, key))

    covered = sum(1 for r in rows if r[3] is not None)
    if markdown:
        print("| report | where | test |")
        print("|---|---|---|")
        for key, fmt, where, hit in rows:  # files, not lines: lines move
            print("| %s | `%s` | %s |" % (fmt.replace("|", "\\|"), where.split(":")[0],
                                          "`%s`" % hit.split(":")[0] if hit else "**none yet**"))
    print("%d of %d reports are checked by a test" % (covered, len(rows)))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
