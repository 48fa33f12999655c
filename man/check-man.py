#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""check-man.py SOURCE_ROOT: the hand-written man pages cannot drift from the
code: every configuration key and its LEAN_HOST_MCP_* name in
src/config's key table, every journal field the actor logs
(src/project/actor.c, restart-policy.c) and every lean-hostctl command and option is
documented; the pages render with groff without warnings (when groff is
installed); every page has a date and no .so, and `mandoc -Tlint` finds
nothing, style included (when mandoc is installed)."""

import os
import re
import shutil
import subprocess
import sys


def read(*p):
    with open(os.path.join(*p)) as f:
        return f.read()


def read_module(src, d):
    # a module's sources (split over several files), tests left out
    p = os.path.join(src, "src", d)
    return "".join(read(p, f) for f in sorted(os.listdir(p))
                   if f.endswith(".c") and not f.startswith("test-"))


def roff_text(s):
    # "\-" is a hyphen in roff source; \fB…\fR fonts are irrelevant here
    return s.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")


def main():
    src = sys.argv[1]
    man = os.path.join(src, "man")
    problems = []

    hostd = roff_text(read(man, "lean-hostd.8"))
    config = read_module(src, "config")
    table = config[config.index("const ConfigKey config_table[]"):]
    table = table[:table.index("};")]
    keys = re.findall(r'U64\("([a-z_.]+)", "([A-Z_]+)"', table)
    keys += [(k, e[len("LEAN_HOST_MCP_"):]) for k, e in
             re.findall(r'\.key = "([a-z_.]+)", \.env = "([A-Z_]+)"', table)]
    if len(keys) < 20:
        problems.append(f"parsed only {len(keys)} keys from src/config")
    for key, env in keys:
        env = env if env.startswith("LEAN_HOST_MCP_") else "LEAN_HOST_MCP_" + env
        if not re.search(r"\b" + re.escape(key) + r"\b", hostd):
            problems.append(f"lean-hostd.8: config key {key} undocumented")
        if not re.search(r"\b" + re.escape(env) + r"\b", hostd):
            problems.append(f"lean-hostd.8: {env} undocumented")

    actor = read(src, "src", "project", "actor.c") + read(src, "src", "project", "restart-policy.c")
    fields = set(re.findall(r'"(LEAN_HOST_[A-Z_]+)=', actor))
    if not fields:
        problems.append("no LEAN_HOST_* journal fields found in actor.c, restart-policy.c")
    for f in sorted(fields):
        if f + "=" not in hostd:
            problems.append(f"lean-hostd.8: journal field {f} undocumented")
    causes = re.findall(r'\[RESTART_CAUSE_[A-Z_]+\] = "([a-z_]+)"', read(src, "src", "worker", "restart-cause.c"))
    for c in causes:
        if not re.search(r"\b" + c + r"\b", hostd):
            problems.append(f"lean-hostd.8: restart cause {c} undocumented")

    ctl_src = read_module(src, "ctl")
    ctl_man = roff_text(read(man, "lean-hostctl.1"))
    for verb in re.findall(r'\{ "([a-z]+)", \d, \d, verb_', ctl_src):
        if not re.search(r"^\.B(?:R|I)? " + verb + r"\b", ctl_man, re.M):
            problems.append(f"lean-hostctl.1: command {verb} undocumented")
    for opt in re.findall(r'\{ "([a-z-]+)", (?:no|required)_argument', ctl_src):
        if "--" + opt not in ctl_man:
            problems.append(f"lean-hostctl.1: option --{opt} undocumented")

    if shutil.which("groff"):
        for page in ("lean-hostd.8", "lean-host-mcp.1", "lean-hostctl.1"):
            r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(man, page)],
                               capture_output=True, text=True)
            for line in r.stderr.splitlines():
                if "cannot adjust line" in line:  # a long literal line: cosmetic
                    continue
                problems.append(f"groff: {line}")

    # every page lint-clean (a date in .TH, no fragile .so), style included
    pages = sorted(f for f in os.listdir(man) if re.fullmatch(r"[a-z.-]+\.[1-8]", f))
    for page in pages:
        text = read(man, page)
        if not re.search(r'^\.TH \S+ \d "\d{4}-\d\d-\d\d"', text, re.M):
            problems.append(f"{page}: .TH has no date")
        if re.search(r"^\.so ", text, re.M):
            problems.append(f"{page}: .so page (install a symlink instead)")
    if shutil.which("mandoc"):
        for page in pages:
            r = subprocess.run(["mandoc", "-Tlint", os.path.join(man, page)], capture_output=True, text=True)
            problems.extend(f"mandoc: {line}" for line in (r.stdout + r.stderr).splitlines())

    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(keys)} config keys, {len(fields)} journal fields, {len(causes)} causes checked; "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
