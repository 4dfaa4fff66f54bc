"""Reads layouts and constants out of Linux's mlx5 headers, for the fidelity check.

Two kinds of definitions are read:
  * mlx5_ifc.h: `struct mlx5_ifc_<name>_bits { u8 field[width]; ... }`, generated
    from the PRM. Each `u8 x[n]` is n bits; offsets accumulate MSB first, so bit 0
    is the most significant bit of the first big-endian byte. Nested
    `struct mlx5_ifc_<t>_bits x;` and unions take their own size; union members
    all start at the union's start.
  * Plain C structs of fixed-width big-endian types (device.h, qp.h, cq.h:
    mlx5_cqe64, mlx5_wqe_ctrl_seg, ...) laid out with natural alignment, and the
    enum and #define constants of every header.

This is our own reading of the header syntax, not the kernel's build: anything it
cannot parse it says so, and the checker fails naming it.
"""

import re

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


def _strip(text):
    return _COMMENT.sub(" ", text)


def _bodies(text, kinds=("struct", "union"), name_re=r"\w+"):
    """Yields (kind, name, body) for top-level `kind name { body };` blocks."""
    pattern = re.compile(r"\b(%s)\s+(%s)\s*\{" % ("|".join(kinds), name_re))
    pos = 0
    while True:
        m = pattern.search(text, pos)
        if not m:
            return
        depth, i = 1, m.end()
        while depth:
            c = text[i]
            depth += c == "{"
            depth -= c == "}"
            i += 1
        yield m.group(1), m.group(2), text[m.end():i - 1]
        pos = i


def _split_members(body):
    """Splits a struct body into member declarations (nested braces kept whole)."""
    members, depth, start = [], 0, 0
    for i, c in enumerate(body):
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif c == ";" and depth == 0:
            decl = body[start:i].strip()
            if decl:
                members.append(decl)
            start = i + 1
    return members


class Constants:
    """Enum values and simple #defines of a set of headers, by name."""

    def __init__(self):
        self.values = {}

    def _eval(self, expr):
        expr = expr.strip()
        expr = re.sub(r"\b(0x[0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
        expr = re.sub(r"\bBIT\((\w+)\)", r"(1 << \1)", expr)
        names = re.findall(r"\b[A-Za-z_]\w*", expr)
        scope = {}
        for n in names:
            if n not in self.values:
                return None
            scope[n] = self.values[n]
        if not re.fullmatch(r"[\w\s()<>|&+\-*/~^]*", expr):
            return None
        try:
            return int(eval(expr.replace("/", "//"), {"__builtins__": {}}, scope))
        except Exception:  # not an integer expression (a macro with arguments, a cast)
            return None

    def add_text(self, text):
        text = _strip(text)
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+([^\n\\]+)$", text, re.M):
            v = self._eval(m.group(2))
            if v is not None:
                self.values.setdefault(m.group(1), v)
        for m in re.finditer(r"\benum\b\s*\w*\s*\{(.*?)\}", text, re.S):
            nxt = 0
            for item in m.group(1).split(","):
                item = item.strip()
                if not item:
                    continue
                name, _, expr = item.partition("=")
                name = name.strip()
                if not re.fullmatch(r"\w+", name):
                    continue
                v = self._eval(expr) if expr else nxt
                if v is None:
                    continue
                self.values[name] = v
                nxt = v + 1

    def with_prefix(self, prefix):
        return {k: v for k, v in self.values.items() if k.startswith(prefix)}


class Member:
    def __init__(self, name, offset, width, type_name=None):
        self.name, self.offset, self.width, self.type_name = name, offset, width, type_name


class _Layouts:
    """What IfcLayouts and CStructs share: layouts built on first use from
    self.raw (name -> (kind, body)) by the subclass's _build, and paths
    through nested members. IfcLayouts counts in bits, CStructs in bytes."""

    def layout(self, name):
        if name not in self.cache:
            if name not in self.raw:
                raise KeyError(self._missing(name))
            kind, body = self.raw[name]
            self.cache[name] = self._build(kind, body, name)
        return self.cache[name]

    def resolve(self, path):
        """'create_cq_in.cq_context.log_cq_size' -> (offset, width) of the last member."""
        parts = path.split(".")
        lay = self.layout(parts[0])
        offset, width = 0, lay["size"]
        for p in parts[1:]:
            if lay is None or p not in lay["members"]:
                raise KeyError("%s: no member %r" % (path, p))
            o, width, lay = self._step(lay["members"][p])
            offset += o
        return offset, width


class IfcLayouts(_Layouts):
    """mlx5_ifc.h `_bits` layouts: bit offsets (MSB first) and widths."""

    def __init__(self, text, constants):
        self.raw = {}
        self.constants = constants
        text = _strip(text)
        for kind, name, body in _bodies(text, name_re=r"mlx5_ifc_\w+"):
            self.raw[self._key(name)] = (kind, body)
        self.cache = {}

    @staticmethod
    def _key(name):
        name = name[len("mlx5_ifc_"):]
        return name[:-len("_bits")] if name.endswith("_bits") else name

    def _count(self, expr):
        expr = expr.strip()
        if expr == "":
            return 0  # flexible array
        v = self.constants._eval(expr)
        if v is None:
            raise ValueError("array size %r" % expr)
        return v

    def _members(self, kind, body, where):
        out, pos, size = [], 0, 0
        for decl in _split_members(body):
            m = re.fullmatch(r"u8\s+(\w+)((?:\s*\[[^\]]*\])+)", decl)
            if m:
                dims = [self._count(d) for d in re.findall(r"\[([^\]]*)\]", m.group(2))]
                width = 1
                for d in dims:
                    width *= d
                out.append(Member(m.group(1), 0 if kind == "union" else pos, width))
            else:
                m = re.fullmatch(r"(struct|union)\s+(mlx5_ifc_\w+)\s+(\w+)((?:\s*\[[^\]]*\])*)", decl)
                if m:
                    inner = self.layout(self._key(m.group(2)))
                    count = 1
                    for d in re.findall(r"\[([^\]]*)\]", m.group(4)):
                        count *= self._count(d)
                    out.append(Member(m.group(3), 0 if kind == "union" else pos,
                                      inner["size"] * count, self._key(m.group(2))))
                    width = inner["size"] * count
                else:
                    m = re.fullmatch(r"(struct|union)\s*\{(.*)\}\s*(\w+)", decl, re.S)
                    if not m:
                        raise ValueError("%s: cannot read member %r" % (where, decl))
                    key = "%s.%s" % (where, m.group(3))
                    self.cache[key] = self._build(m.group(1), m.group(2), key)
                    width = self.cache[key]["size"]
                    out.append(Member(m.group(3), 0 if kind == "union" else pos, width, key))
            if kind == "union":
                size = max(size, width)
            else:
                pos += width
                size = pos
        return out, size

    def _build(self, kind, body, where):
        members, size = self._members(kind, body, where)
        return {"members": {m.name: m for m in members}, "size": size}

    def _missing(self, name):
        return "mlx5_ifc.h has no struct mlx5_ifc_%s_bits" % name

    def _step(self, member):
        return (member.offset, member.width,
                self.layout(member.type_name) if member.type_name else None)


_C_TYPES = {"u8": 1, "__u8": 1, "u16": 2, "__be16": 2, "__u16": 2, "__le16": 2,
            "u32": 4, "__be32": 4, "__u32": 4, "__le32": 4,
            "u64": 8, "__be64": 8, "__u64": 8, "__le64": 8}


class CStructs(_Layouts):
    """Plain C structs of fixed-width types: byte offsets and sizes.

    Members are laid out without padding, as the hardware formats these structs
    describe are (Linux marks the ones whose natural alignment would pad
    __packed); the checker compares each struct's total size too, so a padding
    hole this reading missed shows up as a size mismatch.
    """

    def __init__(self, text, constants):
        self.constants = constants
        self.raw = {}
        text = _strip(text)
        text = re.sub(r"\b__packed\b|\b__aligned\(\w*\)", " ", text)
        text = re.sub(r"DECLARE_FLEX_ARRAY\((\w+),\s*(\w+)\)", r"\1 \2[]", text)
        for kind, name, body in _bodies(text, name_re=r"mlx5_\w+|health_buffer|ev_data"):
            self.raw[name] = (kind, body)
        self.cache = {}

    def _build(self, kind, body, where):
        members, pos, size, align = {}, 0, 0, 1
        bitpos = None  # bit-field run within the current byte
        for decl in _split_members(body):
            decl = decl.strip()
            # struct_group(name, members...): the members, plus a named copy
            # of them; for offsets, an anonymous struct.
            g = re.fullmatch(r"struct_group\(\s*\w+\s*,(.*)\)", decl, re.S)
            if g:
                decl = "struct {%s}" % g.group(1)
            m = re.fullmatch(r"(struct|union)\s*(\w*)\s*\{(.*)\}\s*(\w*)", decl, re.S)
            if m and not m.group(2):
                inner = self._build(m.group(1), m.group(3), where + "." + (m.group(4) or "_"))
                a = inner["align"]
                off = 0 if kind == "union" else (pos + a - 1) // a * a
                if m.group(4):
                    members[m.group(4)] = (off, inner["size"], inner)
                else:  # anonymous: its members are ours
                    for n, (o, s, sub) in inner["members"].items():
                        members[n] = (off + o, s, sub)
                width, align = inner["size"], max(align, a)
            else:
                m = re.fullmatch(r"(\w+)\s+(\w+)\s*:\s*(\d+)", decl)
                if m:  # bit-fields: only their byte matters here
                    if bitpos is None:
                        members[m.group(2)] = (pos, 1, None)
                        bitpos = 0
                    bitpos += int(m.group(3))
                    if bitpos >= 8 * _C_TYPES[m.group(1)]:
                        pos, bitpos = pos + _C_TYPES[m.group(1)], None
                    continue
                m = re.fullmatch(r"(?:struct\s+|union\s+)?(\w+)\s+(\w+)((?:\s*\[[^\]]*\])*)", decl)
                if not m:
                    raise ValueError("%s: cannot read member %r" % (where, decl))
                t = m.group(1)
                if t in _C_TYPES:
                    tsize, talign, sub = _C_TYPES[t], 1, None
                else:
                    sub = self.layout(t)
                    tsize, talign = sub["size"], sub["align"]
                count = 1
                for d in re.findall(r"\[([^\]]*)\]", m.group(3)):
                    v = self.constants._eval(d) if d.strip() else 0
                    if v is None:
                        raise ValueError("%s: array size %r" % (where, d))
                    count *= v
                off = 0 if kind == "union" else (pos + talign - 1) // talign * talign
                members[m.group(2)] = (off, tsize * count, sub)
                width, align = tsize * count, max(align, talign)
            if kind == "union":
                size = max(size, width)
            else:
                pos = off + width
                size = pos
        size = (size + align - 1) // align * align
        return {"members": members, "size": size, "align": align}

    def _missing(self, name):
        return "no struct %s in the C headers" % name

    def _step(self, member):
        return member  # (byte offset, byte size, the member's own layout or None)
