#!/usr/bin/env python3
"""Structure checks anyone can run: no import circles between the modules of a crate, and no
source file over 600 lines.

Import circles: for every crate under SRC_TREES, each file's `use` paths and inline
`crate::`/`super::`/`self::` paths are resolved to the module they name (through `pub use`
re-exports, so `crate::Permissions` counts as the module that defines it). An edge between a
module and one of its own ancestors or descendants is a parent and its part, not a dependency
between concepts, and is ignored; every other edge is lifted to the two sibling modules under
their common parent (`room::client -> conference` becomes `room -> conference`). A cycle among
siblings is reported. Inline `#[cfg(test)]` modules are not counted.

Usage: scripts/check-structure.py   (exit 1 and a report on failure)
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC_TREES = ["media/src", "signaling/src", "server/src", "tests/src", "bench/src"]
LINE_LIMIT = 600
# Where source files are counted for the line limit (vendored code is someone else's).
LINE_TREES = ["media", "signaling", "server", "tests", "bench"]

COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
STRING = re.compile(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"')
USE = re.compile(r"\b(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);")
INLINE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{", re.S)


def strip(code: str) -> str:
    code = COMMENT.sub("", code)
    code = STRING.sub('""', code)
    m = TEST_MOD.search(code)
    return code[: m.start()] if m else code


def expand(tree: str) -> list[str]:
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"] (aliases and globs kept as segments)."""
    tree = re.sub(r"\s+as\s+\w+", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix: str, s: str):
        i = s.find("{")
        if i < 0:
            for part in split_top(s):
                if part:
                    out.append(prefix + part)
            return
        head, body = s[:i], s[i + 1 : s.rfind("}")]
        for part in split_top(body):
            if part == "self":
                out.append((prefix + head).rstrip(":"))
            elif "{" in part:
                walk(prefix + head, part)
            elif part:
                out.append(prefix + head + part)

    walk("", tree)
    return out


def split_top(s: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


class Crate:
    def __init__(self, src: Path):
        self.src = src
        self.root_file = src / "lib.rs" if (src / "lib.rs").exists() else src / "main.rs"
        self.modules: dict[tuple, Path] = {}  # module path -> file
        self.load((), self.root_file)
        self.code = {m: strip(f.read_text()) for m, f in self.modules.items()}
        self.reexports = {m: self.parse_reexports(m) for m in self.modules}

    def load(self, path: tuple, file: Path):
        self.modules[path] = file
        base = file.parent if file.name in ("lib.rs", "main.rs", "mod.rs") else file.with_suffix("")
        for name in MOD_DECL.findall(strip(file.read_text())):
            for cand in (base / f"{name}.rs", base / name / "mod.rs"):
                if cand.exists():
                    self.load(path + (name,), cand)
                    break

    def parse_reexports(self, module: tuple) -> dict[str, tuple]:
        """Names `module` re-exports (`pub use x::Y;`) -> the full path they come from."""
        out = {}
        for m in USE.finditer(self.code[module]):
            if not m.group(0).lstrip().startswith("pub"):
                continue
            for p in expand(m.group(1)):
                segs = p.split("::")
                full = self.absolute(module, segs)
                if full and segs[-1] != "*":
                    out[segs[-1]] = full
        return out

    def absolute(self, module: tuple, segs: list[str]):
        """`segs` as a path from the crate root, or None for another crate's path."""
        if not segs:
            return None
        head = segs[0]
        if head == "crate":
            return tuple(segs[1:])
        if head in ("super", "self"):
            cur = module
            while segs and segs[0] in ("super", "self"):
                if segs[0] == "super":
                    cur = cur[:-1]
                segs = segs[1:]
            return cur + tuple(segs)
        if module + (head,) in self.modules:  # a child module, by its bare name
            return module + tuple(segs)
        return None

    def resolve(self, path: tuple, depth: int = 0):
        """The module `path` names (or that defines the item it names)."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.modules:
                module = path[:n]
                rest = path[n:]
                if rest and rest[0] in self.reexports.get(module, {}) and depth < 8:
                    return self.resolve(self.reexports[module][rest[0]], depth + 1)
                return module
        return None

    def edges(self):
        for module, code in self.code.items():
            paths = []
            for m in USE.finditer(code):
                paths += [p.split("::") for p in expand(m.group(1))]
            for m in INLINE.finditer(USE.sub("", code)):
                paths.append([m.group(1)] + m.group(2).strip(":").split("::"))
            for segs in paths:
                full = self.absolute(module, [s for s in segs if s])
                target = self.resolve(full) if full is not None else None
                if target is not None and target != module:
                    yield module, target


def lifted(a: tuple, b: tuple):
    """The two siblings under a's and b's common parent, or None for ancestor/descendant."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    if n == len(a) or n == len(b):
        return None
    return a[: n + 1], b[: n + 1]


def cycles(graph: dict) -> list[list]:
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def name(crate: Crate, module: tuple) -> str:
    return f"{crate.src.parent.name}::{'::'.join(module) or '(root)'}"


def main() -> None:
    problems = []
    for tree in SRC_TREES:
        crate = Crate(ROOT / tree)
        graph, why = {}, {}
        for a, b in crate.edges():
            pair = lifted(a, b)
            if pair:
                graph.setdefault(pair[0], set()).add(pair[1])
                why.setdefault(pair, set()).add(f"{'::'.join(a) or '(root)'} -> {'::'.join(b) or '(root)'}")
        for comp in cycles(graph):
            members = set(comp)
            detail = sorted(w for (x, y), ws in why.items() if x in members and y in members for w in ws)
            problems.append(f"import circle in {tree}: {' <-> '.join(sorted(name(crate, m) for m in comp))}\n    " + "\n    ".join(detail))
    for tree in LINE_TREES:
        for f in sorted((ROOT / tree).rglob("*.rs")):
            if "target" in f.parts or "node_modules" in f.parts:
                continue
            n = sum(1 for _ in f.open())
            if n > LINE_LIMIT:
                problems.append(f"{f.relative_to(ROOT)} has {n} lines (limit {LINE_LIMIT}): split it by concern")
    for p in problems:
        print(f"check-structure: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check-structure: no import circles in {', '.join(SRC_TREES)}; no .rs file over {LINE_LIMIT} lines")


if __name__ == "__main__":
    main()
