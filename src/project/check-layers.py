#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""No call cycle anywhere in src/: neither between the files of one module
nor between modules (module = src/<dir>). No source file grows past 800
lines, and each file of src/project says at its top what it owns ("Owns").

The graph comes from the built objects: an edge A -> B when A.o needs (nm:
U) a symbol that B.o defines. A cycle means a lower layer calls up; it must
complete a callback (a function pointer it was given) instead, which nm does
not see and which is the allowed way up. There are no exceptions: any cycle
fails. Two files that are really one object's halves are one file.

usage: check-layers.py SRC_DIR TARGET...
  TARGET is a static library (lib*.a: its members) or an executable (its
  objects in meson's TARGET.p/). A target's module is the src/<dir> it was
  built in; an object whose source is elsewhere (bench/trace's runtime in
  libbasic) counts in that module too."""

import glob
import os
import subprocess
import sys

MAX_LINES = 800
OWNERSHIP_DIRS = ("project",)


def module_of_target(target):
    parts = os.path.normpath(os.path.abspath(target)).split(os.sep)
    # .../build/src/<dir>/lib.a or .../build/src/<dir>/exe
    return parts[-2]


def nm_units(target):
    """[(unit, nm -A output)] for a library or an executable's objects."""
    if target.endswith(".a"):
        objs = [target]
    else:
        objs = sorted(glob.glob(os.path.join(target + ".p", "*.o")))
        if not objs:
            sys.exit(f"{target}: no objects in {target}.p/")
    return subprocess.run(["nm", "-A"] + objs, check=True, capture_output=True, text=True).stdout


def unit_name(path):
    obj = os.path.basename(path)
    unit = obj[:-2] if obj.endswith(".o") else obj
    return unit[:-2] if unit.endswith(".c") else unit


def symbols(targets):
    defined, needed = {}, {}
    for target in targets:
        module = module_of_target(target)
        for line in nm_units(target).splitlines():
            # "lib.a:actor.c.o:0000000000000000 T project_new", "x.p/a.c.o:                 U free"
            head, _, rest = line.rpartition(":")
            parts = rest.split()
            if len(parts) < 2:
                continue
            kind, name = parts[-2], parts[-1]
            unit = module + "/" + unit_name(head.split(":")[-1])
            if kind == "U":
                needed.setdefault(unit, set()).add(name)
            elif kind.isupper() and kind not in "UVW":
                defined[name] = unit
    return defined, needed


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
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

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def report(kind, graph, why):
    failed = False
    for comp in cycles(graph):
        failed = True
        print(f"call cycle between {kind}: " + ", ".join(comp))
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    names = sorted(why[(a, b)])
                    print(f"  {a} -> {b}: {', '.join(names[:6])}" + (" …" if len(names) > 6 else ""))
    return failed


def check_files(srcdir):
    failed = False
    for module in sorted(os.listdir(srcdir)):
        d = os.path.join(srcdir, module)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(".c") or name.startswith("test-"):
                continue
            with open(os.path.join(d, name), encoding="utf-8") as f:
                lines = f.readlines()
            if module in OWNERSHIP_DIRS and not any("Owns" in l for l in lines[:40]):
                failed = True
                print(f"src/{module}/{name}: no ownership comment (\"Owns: ...\") at its top")
            if len(lines) > MAX_LINES:
                failed = True
                print(f"src/{module}/{name}: {len(lines)} lines (at most {MAX_LINES})")
    return failed


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    srcdir, targets = sys.argv[1], sys.argv[2:]
    defined, needed = symbols(targets)
    files, modules, why_files, why_modules = {}, {}, {}, {}
    for unit, names in needed.items():
        for n in names:
            d = defined.get(n)
            if not d or d == unit:
                continue
            a, b = unit.split("/")[0], d.split("/")[0]
            if a == b:
                files.setdefault(unit, set()).add(d)
                why_files.setdefault((unit, d), []).append(n)
            else:
                modules.setdefault(a, set()).add(b)
                why_modules.setdefault((a, b), []).append(f"{unit}→{n}")
    failed = report("modules", modules, why_modules)
    failed |= report("files", files, why_files)
    failed |= check_files(srcdir)
    for a in sorted(modules):
        print(f"{a} -> {' '.join(sorted(modules[a]))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
