#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-layers has no exceptions: it must fail on a planted cycle.

usage: test-check-layers.py CHECK_LAYERS EMPTY_SRC_DIR CYCLE_LIB
CYCLE_LIB is a static library of cycle-a.c and cycle-b.c, which call each
other; check-layers must exit 1 and name both files."""

import subprocess
import sys


def main():
    check, srcdir, lib = sys.argv[1:4]
    p = subprocess.run([sys.executable, check, srcdir, lib], capture_output=True, text=True)
    print(p.stdout, p.stderr, sep="")
    want = "call cycle between files: layers/cycle-a, layers/cycle-b"
    if p.returncode != 1 or want not in p.stdout:
        print(f"FAIL: check-layers returned {p.returncode}, expected 1 with '{want}'")
        return 1
    for edge in ("layers/cycle-a -> layers/cycle-b: layers_cycle_b", "layers/cycle-b -> layers/cycle-a: layers_cycle_a"):
        if edge not in p.stdout:
            print(f"FAIL: the edge '{edge}' is not named")
            return 1
    print("ok: the planted cycle fails check-layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
