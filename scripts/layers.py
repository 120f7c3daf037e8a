#!/usr/bin/env python3
"""The crate's architecture, checked: no import circle between sibling
modules in any folder (src/ itself included), and the layer order below.

A dependency is any `crate::…` or `super::…` path in a module's code (`use`
lines, `use` groups and inline paths alike), comments and test code
(`#[cfg(test)]` onwards, `*_tests.rs`, `*proptests.rs`) left out. Between
two siblings A and B of one folder, A depends on B when code anywhere
inside A names a path inside B; a module's own `mod.rs` items belong to the
folder, not to a sibling.

Layer rules (left may not import right):
  stores/*          ops, commands, cli           (a store never runs a command)
  stores/<kind>     stores/<other kind>          (stores compose through stores::open)
  transport         stores, ops, commands, cli   (shared by the stores, owns none)
  ops               commands, cli
  pure modules      stores, transport, ops, commands, cli
                    (spec, plan, render, scan, bundle, report, check, retention, app,
                     clock, output, error, secret, interrupt, credentials_file)

Usage: scripts/layers.py [-v]   (-v prints every folder's graph)"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
STORE_KINDS = ("s3", "local", "redis", "sql", "gcs", "hybrid")
PURE = ("spec", "plan", "render", "scan", "bundle", "report", "check", "retention", "app",
        "clock", "output", "error", "secret", "interrupt", "credentials_file")
RULES = [
    (("stores",), [("ops",), ("commands",), ("cli",)]),
    (("transport",), [("stores",), ("ops",), ("commands",), ("cli",)]),
    (("ops",), [("commands",), ("cli",)]),
] + [((p,), [("stores",), ("transport",), ("ops",), ("commands",), ("cli",)]) for p in PURE] + [
    (("stores", a), [("stores", b) for b in STORE_KINDS if b != a]) for a in STORE_KINDS
]


def module_of(path):
    """`src/a/b/c.rs` -> ("a", "b", "c"); `src/a/mod.rs` -> ("a",)."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod" or (len(rel) == 1 and rel[0] in ("lib", "main")):
        rel = rel[:-1]
    return tuple(rel)


def files():
    for dirpath, _, names in os.walk(SRC):
        for n in sorted(names):
            if n.endswith(".rs") and not n.endswith("_tests.rs") and not n.endswith("proptests.rs"):
                yield os.path.join(dirpath, n)


def code(path):
    text = open(path, encoding="utf-8").read()
    cut = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod ", text, re.M)
    if cut:
        text = text[: cut.start()]
    return re.sub(r"//[^\n]*", "", text)


def expand(prefix, body):
    """`a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e (groups unfolded)."""
    out = []
    depth, start, parts = 0, 0, []
    for i, ch in enumerate(body):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    for part in parts:
        part = part.strip()
        if not part:
            continue
        m = re.match(r"([\w:]*?)(?:::)?\{(.*)\}$", part, re.S)
        if m:
            head = prefix + ([s for s in m.group(1).split("::") if s] if m.group(1) else [])
            out.extend(expand(head, m.group(2)))
        else:
            segs = [s.strip() for s in part.split(" as ")[0].split("::") if s.strip()]
            out.append(prefix + [s for s in segs if s != "self"])
    return out


def references(path, modules):
    here = module_of(path)
    # The module whose `super` a path starts from: a file's own module.
    text = code(path)
    found = []
    for m in re.finditer(r"\b(crate|super)((?:::super)*)::(\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}|[\w:]+)", text):
        root, supers, rest = m.group(1), m.group(2), m.group(3)
        if root == "crate":
            base = []
        else:
            n = 1 + supers.count("super")
            base = list(here[: len(here) - n]) if n <= len(here) else None
            if base is None:
                continue
        if rest.startswith("{"):
            paths = expand(base, rest[1:-1])
        else:
            paths = [base + [s for s in rest.split("::") if s]]
        for p in paths:
            # The longest prefix that is a module.
            best = None
            for k in range(len(p), -1, -1):
                if tuple(p[:k]) in modules:
                    best = tuple(p[:k])
                    break
            if best is not None:
                found.append(best)
    return here, found


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
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
            out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    all_files = list(files())
    modules = {module_of(f) for f in all_files}
    # Parent folders are modules too (a folder without mod.rs is not used here).
    for m in list(modules):
        for k in range(len(m)):
            modules.add(m[:k])
    folders = {}  # folder -> {child -> set(child)}
    violations = []
    for f in all_files:
        here, refs = references(f, modules)
        for target in refs:
            # Layer rules.
            for frm, forbidden in RULES:
                if here[: len(frm)] == frm:
                    for bad in forbidden:
                        if target[: len(bad)] == bad and here[: len(bad)] != bad:
                            violations.append(f"{'::'.join(here)} imports {'::'.join(target)} "
                                              f"({'/'.join(frm)} may not import {'/'.join(bad)})")
            # Sibling edges below the lowest common folder.
            k = 0
            while k < min(len(here), len(target)) and here[k] == target[k]:
                k += 1
            if k == len(here) or k == len(target):
                continue  # an ancestor's own items, or a module's own children
            folder = here[:k]
            folders.setdefault(folder, {}).setdefault(here[k], set()).add(target[k])
    cycles = []
    for folder, graph in sorted(folders.items()):
        for deps in list(graph.values()):
            for d in deps:
                graph.setdefault(d, set())
        if "-v" in sys.argv:
            print(f"[{'::'.join(('crate',) + folder)}]")
            for m, ds in sorted(graph.items()):
                print(f"  {m} -> {', '.join(sorted(ds)) or '-'}")
        for c in sccs(graph):
            cycles.append(f"circle in {'/'.join(('src',) + folder)}: {' · '.join(c)}")
    for line in sorted(set(violations)) + cycles:
        print(line)
    if violations or cycles:
        return 1
    print(f"layers: no circle in {len(folders)} folders, no layer crossed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
