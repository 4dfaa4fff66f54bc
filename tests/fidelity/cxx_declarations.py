"""Finds the hardware definitions a safenic header declares, for the fidelity check.

Reads a header the way a reader would, not the way a compiler does: it tracks
`namespace`/`struct`/`enum` scopes by their braces and records, in each scope,
  * fields:    `using NAME = Field<...>` / `Bit<...>` / `LayoutField<...>`
  * aliases:   `using NAME = Other<...>::Inner;` (to resolve names through them)
  * constants: `inline constexpr T kA = ..., kB = ...;` and `static constexpr`
  * enumerators of `enum` and `enum class`
and each struct's base classes. `resolve()` then maps a qualified name as code
uses it (CREATE_SQ::In::STATE, through the base WqIn) to the declaration.
"""

import re

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)


class Declaration:
    def __init__(self, kind, scope, name, where):
        self.kind, self.scope, self.name, self.where = kind, scope, name, where

    @property
    def qualified(self):
        return "::".join(self.scope + (self.name,))


class Scope:
    def __init__(self, name, parent):
        self.name, self.parent = name, parent
        self.children, self.members, self.aliases, self.bases = {}, {}, {}, []

    def path(self):
        out, s = [], self
        while s.parent is not None:
            out.append(s.name)
            s = s.parent
        return tuple(reversed(out))


def _strip_templates(text):
    """'RingRegisters<RX, 0x10>::BASE' -> 'RingRegisters::BASE'."""
    out, depth = [], 0
    for c in text:
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out).strip()


class Declarations:
    def __init__(self):
        self.root = Scope("", None)
        self.all = []

    def add_file(self, path, text, ignore_namespaces=("safenic", "mlx5")):
        text = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        stack = [self.root]
        pending = None  # (kind, name, bases) of the block the next '{' opens
        i, n = 0, len(text)
        stmt_start = 0
        while i < n:
            c = text[i]
            if c == "{":
                head = text[stmt_start:i]
                scope = stack[-1]
                m = re.search(r"\bnamespace\s+([\w:]+)\s*$", head)
                e = re.search(r"\benum\s+(?:class\s+)?(\w+)[^;{}]*$", head)
                s = re.search(r"\bstruct\s+(\w+)\s*(?::\s*([^{;]*))?$", head)
                if m:
                    names = [x for x in m.group(1).split("::") if x not in ignore_namespaces]
                    new = scope
                    for part in names:
                        new = new.children.setdefault(part, Scope(part, new))
                    stack.append(new)
                elif e:
                    end = text.index("}", i)
                    enum = scope.children.setdefault(e.group(1), Scope(e.group(1), scope))
                    for item in text[i + 1:end].split(","):
                        name = item.split("=")[0].strip()
                        if re.fullmatch(r"\w+", name):
                            self._add("enumerator", enum, name, path, text, i)
                            # Unscoped enums' enumerators are also names in the outer scope.
                            if not re.search(r"\benum\s+class\b", head):
                                scope.aliases.setdefault(name, "::".join(enum.path() + (name,)))
                    i = end
                    stmt_start = i + 1
                    stack.append(Scope("<enum>", scope))  # popped at the enum's '}'
                    continue
                elif s:
                    new = scope.children.setdefault(s.group(1), Scope(s.group(1), scope))
                    if s.group(2):
                        for base in re.split(r",(?![^<]*>)", s.group(2)):
                            new.bases.append(_strip_templates(base.replace("public", "")))
                    stack.append(new)
                else:  # a function body, an initializer: nothing declared there
                    depth, j = 1, i + 1
                    while depth:
                        depth += text[j] == "{"
                        depth -= text[j] == "}"
                        j += 1
                    i = j
                    if re.search(r"=\s*$", head) or re.search(r"\[\]\s*=\s*$", head):
                        continue  # an initializer: the statement goes on to its ';'
                    stmt_start = i
                    continue
                stmt_start = i + 1
            elif c == "}":
                stack.pop()
                stmt_start = i + 1
            elif c == ";":
                self._statement(stack[-1], text[stmt_start:i], path, text, stmt_start)
                stmt_start = i + 1
            i += 1

    def _add(self, kind, scope, name, path, text, pos):
        line = text.count("\n", 0, pos) + 1
        d = Declaration(kind, scope.path(), name, "%s:%d" % (path, line))
        scope.members[name] = d
        self.all.append(d)

    def _statement(self, scope, stmt, path, text, pos):
        stmt = stmt.strip()
        m = re.match(r"using\s+(\w+)\s*=\s*(.*)$", stmt, re.S)
        if m:
            target = m.group(2).strip()
            if re.match(r"(Field|Bit|LayoutField)\s*<", target):
                self._add("field", scope, m.group(1), path, text, pos + stmt.index(m.group(1)))
            else:
                scope.aliases[m.group(1)] = _strip_templates(target)
            return
        m = re.match(r"(?:inline\s+|static\s+)+constexpr\s+[\w:]+\s+(.*)$", stmt, re.S)
        if m:
            body = m.group(1)
            # kA = 1, kB = f(2, 3): split on commas outside brackets.
            depth, parts, cur = 0, [], ""
            for c in body:
                depth += c in "([{<"
                depth -= c in ")]}>"
                if c == "," and depth == 0:
                    parts.append(cur)
                    cur = ""
                else:
                    cur += c
            parts.append(cur)
            for p in parts:
                name = re.match(r"\s*(\w+)", p)
                if name:
                    self._add("constant", scope, name.group(1), path, text, pos + stmt.index(name.group(1)))

    # --- resolution ---------------------------------------------------------

    def _lookup_scope(self, name, start):
        """A scope by (possibly qualified) name as seen from `start`."""
        parts = name.split("::")
        s = start
        while s is not None:
            found = self._walk(s, parts)
            if found is not None:
                return found
            s = s.parent
        return None

    def _walk(self, scope, parts, seen=None):
        seen = set() if seen is None else seen
        for i, p in enumerate(parts):
            nxt = self._child(scope, p, seen)
            if nxt is None:
                return None
            scope = nxt
        return scope

    def _child(self, scope, name, seen):
        if name in scope.children:
            return scope.children[name]
        key = (id(scope), name)
        if key in seen:
            return None
        seen.add(key)
        if name in scope.aliases:
            return self._lookup_scope(scope.aliases[name], scope)
        for base in scope.bases:
            b = self._lookup_scope(base, scope.parent)
            if b is not None:
                found = self._child(b, name, seen)
                if found is not None:
                    return found
        return None

    def _member(self, scope, name, seen=None):
        seen = set() if seen is None else seen
        if id(scope) in seen:
            return None
        seen.add(id(scope))
        if name in scope.members:
            return scope.members[name]
        if name in scope.aliases:
            target = scope.aliases[name].split("::")
            owner = self._lookup_scope("::".join(target[:-1]), scope) if len(target) > 1 else scope
            if owner is not None and target[-1] in owner.members:
                return owner.members[target[-1]]
        for base in scope.bases:
            b = self._lookup_scope(base, scope.parent)
            if b is not None:
                found = self._member(b, name, seen)
                if found is not None:
                    return found
        return None

    def resolve(self, qualified):
        """The Declaration a name used in code refers to, or None."""
        parts = qualified.split("::")
        owner = self.root if len(parts) == 1 else self._lookup_scope("::".join(parts[:-1]), self.root)
        if owner is None:
            return None
        found = self._member(owner, parts[-1])
        if found is None and len(parts) == 1:  # a name in a namespace we opened
            for child in self.root.children.values():
                found = self._member(child, parts[-1])
                if found:
                    break
        return found
