#!/usr/bin/env python3
"""Lists the dependencies between the crate's top-level modules (src/X.rs or
src/X/) and fails when any two of them depend on each other, directly or
through others (a cycle). A dependency is any `crate::Y` path in X's code
(`use` lines and inline paths alike; `crate::{Y, Z}` groups too).

Usage: scripts/module-cycles.py [-v]   (-v prints the whole graph)"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
ROOTS = {"lib", "main"}


def top_modules():
    mods = set()
    for name in os.listdir(SRC):
        if name.endswith(".rs"):
            mods.add(name[:-3])
        elif os.path.isdir(os.path.join(SRC, name)):
            mods.add(name)
    return mods - ROOTS


def files_of(mod):
    path = os.path.join(SRC, mod)
    if os.path.isfile(path + ".rs"):
        yield path + ".rs"
    for dirpath, _, names in os.walk(path):
        for n in names:
            if n.endswith(".rs"):
                yield os.path.join(dirpath, n)


def deps(mod, mods):
    found = set()
    for f in files_of(mod):
        text = open(f, encoding="utf-8").read()
        # Comments do not count.
        text = re.sub(r"//[^\n]*", "", text)
        for m in re.finditer(r"crate::(\{[^}]*\}|\w+)", text):
            group = m.group(1)
            names = re.findall(r"(?:^|[{,]\s*)(\w+)", group) if group.startswith("{") else [group]
            found.update(n for n in names if n in mods and n != mod)
    return found


def sccs(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
    mods = top_modules()
    graph = {m: deps(m, mods) for m in sorted(mods)}
    if "-v" in sys.argv:
        for m, ds in graph.items():
            print(f"{m} -> {', '.join(sorted(ds)) or '-'}")
    pairs = sorted({tuple(sorted((a, b))) for a in graph for b in graph[a] if a in graph[b]})
    for a, b in pairs:
        print(f"mutual: {a} <-> {b}")
    cycles = sccs(graph)
    for c in cycles:
        print(f"cycle: {' · '.join(c)}")
    if not cycles:
        print(f"no cycle between the {len(mods)} top-level modules")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
