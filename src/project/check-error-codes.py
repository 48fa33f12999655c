#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every tool error code in the sources is in the one table.

Collects the table from src/project/error-code.c, then every code string
that goes out or is expected: the first string argument of the functions
that set a tool error (lh_error_set, tool_reply_errorf, item_fail, ...), a
"code" member built by hand or written as JSON text, and the codes the tests
expect (C and Python).
Fails naming each one not in the table. Usage: check-error-codes.py SRCROOT"""

import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
table_src = (root / "src/project/error-code.c").read_text()
table = set(re.findall(r'\[LH_ERROR_[A-Z_]+\] = "([a-z_]+)"', table_src))
if len(table) < 10:
    sys.exit(f"could not read the table from error-code.c ({len(table)} codes)")

ARG = r'[^,;"]*,\s*'
# the code argument of the functions that set a tool error, by position (may span lines)
setter_res = [re.compile(r"\b" + f + r"\(\s*" + ARG * n + r'"([a-z_]+)"')
              for f, n in (("lh_error_set", 1), ("tool_reply_errorf", 2), ("error_object", 0), ("set_error", 1),
                           ("item_fail", 1), ("tool_error_body_new", 0))]
member_re = re.compile(r'"code"\s*,\s*json_object_new_string\("([a-z_]+)"\)|'
                       r'\\"error\\":\s*\{\s*\\"code\\":\s*\\"([a-z_]+)\\"')
c_expect_re = re.compile(r'ASSERT_STREQ\([^;]*\bcode[a-z_]*"?\)?\s*,\s*"([a-z_]+)"\)')
py_expect_re = re.compile(r'\["code"\]\s*==\s*"([a-z_]+)"|\["code"\]\s*in\s*\(([^)]*)\)')

found = {}
for path in sorted((root / "src").rglob("*.c")) + sorted((root / "src").rglob("*.h")):
    text = path.read_text(errors="replace")
    if path.name == "error-code.c":
        continue
    for setter_re in setter_res:
        for m in setter_re.finditer(text):
            found.setdefault(m.group(1), set()).add(str(path.relative_to(root)))
    for m in member_re.finditer(text):
        found.setdefault(m.group(1) or m.group(2), set()).add(str(path.relative_to(root)))
    if path.name.startswith("test-"):
        for m in c_expect_re.finditer(text):
            found.setdefault(m.group(1), set()).add(str(path.relative_to(root)))
for path in sorted((root / "tests").rglob("*.py")):
    text = path.read_text(errors="replace")
    for m in py_expect_re.finditer(text):
        codes = [m.group(1)] if m.group(1) else re.findall(r'"([a-z_]+)"', m.group(2))
        for c in codes:
            found.setdefault(c, set()).add(str(path.relative_to(root)))
# the error bodies the HAProxy front sends for lean-host (deploy/haproxy/errors)
for path in sorted((root / "deploy").rglob("*.http")):
    for m in re.finditer(r'"code":\s*"([a-z_]+)"', path.read_text(errors="replace")):
        found.setdefault(m.group(1), set()).add(str(path.relative_to(root)))

bad = {c: w for c, w in found.items() if c not in table}
for c, where in sorted(bad.items()):
    print(f"error code {c!r} is not in src/project/error-code.c: {', '.join(sorted(where))}")
print(f"{len(found)} codes in use, {len(table)} in the table, {len(bad)} unknown")
unused = sorted(table - set(found))
if unused:
    print("in the table, not found by this scan (set through a variable?):", ", ".join(unused))
sys.exit(1 if bad else 0)
