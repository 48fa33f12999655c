#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""lean-host's scale simulation (simulated, not measured): prints Markdown
tables for the README.

  sim.py model        the cost model and where each number comes from
  sim.py throughput   many agents, one project, one machine (1,000 proofs)
  sim.py scale        100 nodes x 10,000 projects, three routings, 10 % failed
  sim.py all          all three
Options: --quick (a smaller run, for the test), --seed N.
"""

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import leancost as lc  # noqa: E402
import scale  # noqa: E402
import throughput  # noqa: E402


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def cmd_model(args):
    print(table(("figure", "value", "kind", "source"), lc.describe()))


def cmd_throughput(args):
    n = 200 if args.quick else 1000
    res = throughput.run(n=n, seed=args.seed)
    print(f"One machine (16 cores, 128 GB assumed), one project, {n} proofs, "
          f"{lc.kimina_pool_size(16)} closed-loop agents, seed {args.seed}:\n")
    print(table(throughput.HEAD, [r.row() for r in res]))


def cmd_scale(args):
    if args.quick:
        prm = dict(nodes=10, projects=1000, rate=5.0, warmup_s=600.0, window_s=1200.0)
    else:
        prm = dict()
    rows = []
    for fail in (0.0, 0.1):
        for policy in ("consistent", "random", "leastconn"):
            d = scale.run(policy, scale.Params(fail_share=fail, seed=args.seed, **prm))
            rows.append(scale.row(policy, f"{int(fail * 100)} %", d))
        d = scale.run("consistent", scale.Params(fail_share=fail, seed=args.seed, cfg=lc.BEFORE_POOLS, **prm))
        rows.append(scale.row("consistent, lean-host before pools", f"{int(fail * 100)} %", d))
    p = scale.Params(**prm)
    print(f"{p.nodes} nodes (16 cores, 128 GB, lean-host defaults: {lc.LeanHostConfig().max_workers(128.0)} workers "
          f"max, {lc.LeanHostConfig().project_workers(16)} per project), {p.projects} projects, Zipf s={p.zipf_s}, {p.rate:g} calls/s Poisson, measured "
          f"{p.window_s / 60:g} min after {p.warmup_s / 60:g} min warm-up, seed {args.seed}; failures at the "
          f"window's start:\n")
    print(table(scale.HEAD, rows))
    print(f"\nA node joining a ring of {p.nodes}: "
          f"{100 * scale.ring_join_moved(p.nodes, p.projects):.2f} % of the projects move "
          f"(ideal {100 / (p.nodes + 1):.2f} %).")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("model", "throughput", "scale", "all"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"Simulated ({datetime.date.today().isoformat()}), bench/sim, not measured.\n")
    for name in (("model", "throughput", "scale") if args.what == "all" else (args.what,)):
        globals()["cmd_" + name](args)
        print()


if __name__ == "__main__":
    main()
