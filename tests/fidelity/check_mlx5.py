#!/usr/bin/env python3
"""Checks every ConnectX definition in nic/mlx5/ against Linux's mlx5 headers.

Usage: check_mlx5.py <mlx5_definitions binary> <allow-list> <nic/mlx5 headers...>

The binary prints each safenic definition with its position and the Linux name of
the same thing (tests/fidelity/mlx5_definitions.cc). This script reads the Linux
headers from Debian's linux-headers-<version>-common package (the newest under
/usr/src, or $SAFENIC_LINUX_HEADERS), finds the position Linux gives, and fails
naming the definition and both positions where they differ. It also fails when a
declaration in the given safenic headers is neither checked nor allowed, and when
an allow-list entry is stale (its item agrees, or no longer exists).
"""

import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cxx_declarations  # noqa: E402
import linux_headers  # noqa: E402

HEADERS = ["mlx5_ifc.h", "mlx5_ifc_fpga.h", "device.h", "qp.h", "cq.h", "port.h", "driver.h",
           "vport.h", "doorbell.h", "eq.h"]


def find_linux_headers():
    root = os.environ.get("SAFENIC_LINUX_HEADERS")
    if root:
        return root
    found = glob.glob("/usr/src/linux-headers-*-common/include/linux/mlx5/mlx5_ifc.h")
    if not found:
        sys.exit("no Linux mlx5 headers under /usr/src: run ./bazelw once (it installs "
                 "linux-headers-amd64, which brings linux-headers-<version>-common), or point "
                 "SAFENIC_LINUX_HEADERS at a kernel's include/linux/mlx5")

    def version(p):
        return [int(x) for x in re.findall(r"\d+", p.split("/")[3])]
    return os.path.dirname(sorted(found, key=version)[-1])


def describe_bits(offset, width):
    dword, bit = divmod(offset, 32)
    if bit + width <= 32:
        hi = 31 - bit
        return "byte %#x, bits %d..%d of the dword at %#x" % (offset // 8, hi - width + 1, hi, dword * 4)
    return "byte %#x, %d bits" % (offset // 8, width)


class Linux:
    def __init__(self, root):
        self.root = root
        self.constants = linux_headers.Constants()
        texts = {}
        for h in HEADERS:
            with open(os.path.join(root, h)) as f:
                texts[h] = f.read()
            self.constants.add_text(texts[h])
        pci_ids = os.path.join(root, "..", "pci_ids.h")
        if os.path.exists(pci_ids):
            with open(pci_ids) as f:
                self.constants.add_text(f.read())
        self.ifc = linux_headers.IfcLayouts(texts["mlx5_ifc.h"] + texts["mlx5_ifc_fpga.h"], self.constants)
        self.c = linux_headers.CStructs(texts["device.h"] + texts["qp.h"] + texts["cq.h"], self.constants)
        self.link_modes = self._enum_members(texts["port.h"], "mlx5e_link_mode")

    @staticmethod
    def _enum_members(text, name):
        m = re.search(r"enum\s+%s\s*\{(.*?)\}" % name, text, re.S)
        out, nxt = {}, 0
        for item in m.group(1).split(","):
            k, _, v = item.strip().partition("=")
            k = k.strip()
            if not k:
                continue
            nxt = int(v.strip(), 0) if v.strip() else nxt
            out[k] = nxt
            nxt += 1
        return out

    def value(self, expr):
        v = self.constants._eval(expr)
        if v is None:
            raise KeyError("no constant %s" % expr)
        return v

    def _base(self, ref):
        ref, _, base = ref.partition("@")
        return ref, int(base, 0) * 8 if base else 0

    def bits(self, ref):
        """A field reference -> (bit offset, width)."""
        kind, _, ref = ref.partition(":")
        ref, base = self._base(ref)
        if kind == "k":
            expr, _, width = ref.rpartition(":")
            return self.value(expr), int(width)
        m = re.fullmatch(r"(.*)\+(\d+):(\d+)", ref)
        part = None
        if m:
            ref, part = m.group(1), (int(m.group(2)), int(m.group(3)))
        mask = None
        if "&" in ref:
            ref, mask = ref.split("&")
        if kind == "ifc":
            offset, width = self.ifc.resolve(ref)
        elif kind == "c":
            byte, size = self.c.resolve(ref)
            offset, width = byte * 8, size * 8
        else:
            raise KeyError("unknown reference kind %r" % kind)
        if part:
            offset, width = offset + part[0], part[1]
        if mask:
            m = self.value(mask)
            low = (m & -m).bit_length() - 1
            high = m.bit_length() - 1
            if m != ((1 << (high + 1)) - (1 << low)):
                raise KeyError("mask %s is not one run of bits" % mask)
            offset, width = offset + width - 1 - high, high - low + 1
        return base + offset, width

    def number(self, ref):
        """A value reference -> an integer."""
        kind, _, ref = ref.partition(":")
        ref, base = self._base(ref)
        base //= 8
        if kind == "k":
            return self.value(ref)
        if kind == "ifc-offset":
            return base + self.ifc.resolve(ref)[0] // 8
        if kind == "ifc-bytes":
            return sum(self.ifc.resolve(r)[1] for r in ref.split("+")) // 8
        if kind == "ifc-bit":
            offset, width = self.ifc.resolve(ref)
            if width != 1:
                raise KeyError("%s is %d bits wide, not one" % (ref, width))
            return 1 << (31 - offset % 32)
        if kind == "c-offset":
            return base + self.c.resolve(ref)[0]
        if kind == "c-bytes":
            return sum(self.c.resolve(r)[1] for r in ref.split("+"))
        raise KeyError("unknown reference kind %r" % kind)

    def link_mode_speeds(self):
        """PTYS eth_proto bit -> Mb/s, from the link mode names (MLX5E_25GBASE_CR: 25000)."""
        out = {}
        for name, bit in self.link_modes.items():
            m = re.match(r"MLX5E_(\d+)(G?)BASE_", name)
            if m:
                out[bit] = int(m.group(1)) * (1000 if m.group(2) else 1)
        return out


def read_allow_list(path):
    allowed = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, reason = line.partition("|")
            if not sep or not reason.strip():
                sys.exit("%s:%d: an entry needs a reason: 'NAME | why'" % (path, n))
            allowed[name.strip()] = reason.strip()
    return allowed


def main():
    binary, allow_path, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
    linux = Linux(find_linux_headers())
    allowed = read_allow_list(allow_path)
    lines = subprocess.run([binary], check=True, capture_output=True, text=True).stdout.splitlines()

    decls = cxx_declarations.Declarations()
    for h in headers:
        with open(h) as f:
            decls.add_file(h, f.read())

    errors, agreed, allowed_hits, checked = [], 0, set(), 0
    covered = set()

    def note_names(text):
        for token in re.findall(r"[A-Za-z_][\w:]*", text):
            d = decls.resolve(token)
            if d is not None:
                covered.add(d.qualified)

    def differ(name, message):
        if name in allowed:
            allowed_hits.add(name)
        else:
            errors.append("%s: %s" % (name, message))

    speeds = {}
    for line in lines:
        kind, *rest = line.split("\t")
        if kind == "speed":
            speeds[int(rest[0])] = int(rest[1])
            continue
        name = rest[0]
        note_names(name)
        checked += 1
        try:
            if kind == "field":
                ours = (int(rest[1]), int(rest[2]))
                theirs = linux.bits(rest[3])
                if ours != theirs:
                    differ(name, "safenic %s; Linux %s: %s" % (
                        describe_bits(*ours), rest[3], describe_bits(*theirs)))
                    continue
            elif kind in ("size", "value"):
                ours, theirs = int(rest[1]), linux.number(rest[2])
                if ours != theirs:
                    differ(name, "safenic %#x; Linux %s: %#x" % (ours, rest[2], theirs))
                    continue
            elif kind == "cover":
                ours = {int(v) for v in rest[1].split(",") if v}
                theirs = linux.constants.with_prefix(rest[2])
                missing = sorted("%s (%#x)" % (k, v) for k, v in theirs.items() if v not in ours)
                extra = sorted(v for v in ours if v not in theirs.values())
                if missing or extra:
                    differ(name, "names no value for %s; names values Linux lacks: %s" % (
                        ", ".join(missing) or "none", ", ".join(hex(v) for v in extra) or "none"))
                    continue
            else:
                errors.append("unknown line from %s: %r" % (binary, line))
                continue
        except (KeyError, ValueError) as e:
            errors.append("%s: cannot read Linux's %s: %s" % (name, rest[-1], e))
            continue
        if name in allowed:
            errors.append("%s agrees with Linux now: remove it from %s" % (name, allow_path))
        agreed += 1

    # PTYS: every Ethernet link mode Linux knows, with the speed its name says.
    theirs = linux.link_mode_speeds()
    for bit in range(32):
        checked += 1
        name = "kPtysSpeeds[bit %d]" % bit
        if speeds.get(bit, 0) != theirs.get(bit, 0):
            differ(name, "safenic %d Mb/s; Linux's mlx5e_link_mode %s" % (
                speeds.get(bit, 0), theirs.get(bit, "has no mode for this bit")))
        else:
            agreed += 1
    note_names("kPtysSpeeds")

    # Every declaration is checked or allowed.
    unchecked = 0
    for d in decls.all:
        if d.qualified in covered:
            continue
        if d.qualified in allowed:
            allowed_hits.add(d.qualified)
            unchecked += 1
            continue
        errors.append("%s (%s) is checked against nothing: add it to "
                      "tests/fidelity/mlx5_definitions.cc with its Linux name, or to %s with "
                      "the reason Linux has none" % (d.qualified, d.where, allow_path))
    for name in allowed:
        if name not in allowed_hits:
            errors.append("%s is in %s but is neither a differing item nor an unchecked "
                          "declaration: remove it" % (name, allow_path))

    print("Linux headers: %s" % linux.root)
    print("%d items checked against Linux: %d agree, %d differ as allowed; "
          "%d declarations have no Linux counterpart (allowed); %d declarations in all" % (
              checked, agreed, len([a for a in allowed_hits if a not in {d.qualified for d in decls.all}]),
              unchecked, len(decls.all)))
    if errors:
        print("\n%d problems:" % len(errors))
        for e in errors:
            print("  " + e)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
