#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""src/project's file-level call graph must have no cycle, no file may
grow past 800 lines, and each file says at its top what it owns ("Owns").

The graph comes from the objects of the built library: an edge A -> B when
A.o needs (nm: U) a symbol that B.o defines. A cycle means a lower layer
calls up; it must complete a callback instead.

usage: check-layers.py LIBRARY.a SOURCE_DIR"""

import os
import subprocess
import sys

MAX_LINES = 800


def symbols(lib):
    out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True, text=True).stdout
    defined, needed = {}, {}
    for line in out.splitlines():
        # "lib.a:actor.c.o:0000000000000000 T project_new" or "lib.a:actor.c.o:                 U free"
        head, _, rest = line.rpartition(":")
        obj = os.path.basename(head.split(":")[-1])
        parts = rest.split()
        if len(parts) < 2:
            continue
        kind, name = parts[-2], parts[-1]
        unit = obj[:-2] if obj.endswith(".o") else obj
        unit = unit[:-2] if unit.endswith(".c") else unit
        if kind == "U":
            needed.setdefault(unit, set()).add(name)
        elif kind.isupper():
            defined[name] = unit
    return defined, needed


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

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
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    lib, srcdir = sys.argv[1], sys.argv[2]
    defined, needed = symbols(lib)
    graph, why = {}, {}
    for unit, names in needed.items():
        for n in sorted(names):
            d = defined.get(n)
            if d and d != unit:
                graph.setdefault(unit, set()).add(d)
                why.setdefault((unit, d), []).append(n)
    failed = False
    for comp in cycles(graph):
        failed = True
        print("call cycle between files: " + ", ".join(comp))
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    print(f"  {a} -> {b}: {', '.join(why[(a, b)][:6])}")
    for name in sorted(os.listdir(srcdir)):
        if not name.endswith(".c") or name.startswith("test-"):
            continue
        with open(os.path.join(srcdir, name), encoding="utf-8") as f:
            lines = f.readlines()
        n = len(lines)
        if not any("Owns" in l for l in lines[:40]):
            failed = True
            print(f"{name}: no ownership comment (\"Owns: ...\") at its top")
        if n > MAX_LINES:
            failed = True
            print(f"{name}: {n} lines (at most {MAX_LINES})")
    for a in sorted(graph):
        print(f"{a} -> {' '.join(sorted(graph[a]))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
