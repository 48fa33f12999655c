# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Lean cost model of the scale simulation: what an import, a proof and a
worker cost, and where each number comes from.

SOURCE  = a published figure (cited next to it).
DERIVED = computed from published figures (the formula is given).
ASSUMED = our assumption, no published figure found; change it with care and
          say so in the README table.

Units: seconds and GB (10^9 bytes) as the sources give them; lean-host's tiers
are GiB in its config and are converted here.
"""

import math
from dataclasses import dataclass

GB = 1.0
GIB = 1024 ** 3 / 1e9  # 1 GiB in GB

# --- published figures ----------------------------------------------------

# SOURCE: zcash/ironwood pull request #144 (2026-07-29), "Minimize
# soundness-stack Mathlib imports": "Importing the Mathlib umbrella made each
# affected Lean process peak around 6.5 GB RSS"; the narrower
# `import Mathlib.Tactic` file peaked at 3.77 GB (from 6.57 GB), wall time
# 4.00 s (from 5.42 s).
MATHLIB_RSS_GB = 6.5
MATHLIB_TACTIC_RSS_GB = 3.77
MATHLIB_FILE_WALL_S = 5.42  # a whole file with `import Mathlib`: an upper bound for the import

# SOURCE: Kimina Lean Server technical report (Dos Santos et al., arXiv
# 2504.21230, MATH-AI 2025), as quoted in lean-host's throughput issue
# ("Many agents, one project"): 3.65 s per proof with the header cached
# (a REPL that already imported it) vs 5.14 s uncached.  The exact table was
# not re-read here: the retrievable text of the report has the abstract only.
KIMINA_PROOF_CACHED_S = 3.65
KIMINA_PROOF_UNCACHED_S = 5.14

# DERIVED: the import of `import Mathlib` = uncached − cached = 1.49 s.
MATHLIB_IMPORT_S = KIMINA_PROOF_UNCACHED_S - KIMINA_PROOF_CACHED_S

# SOURCE: Kimina Lean Server README / report: a pool of REPL processes, one
# per CPU minus one by default, each bound to one exact import header, reused
# least-recently-used.  (The "CPU − 1" size is the description.)
def kimina_pool_size(cpus):
    return max(1, cpus - 1)


# --- assumptions ----------------------------------------------------------

# ASSUMED: the share of a worker's import RSS that is anonymous memory.  Lean
# mmaps .olean files (compacted regions), so most of the 6.5 GB is file-backed
# page cache, shared by every worker of the node that imported the same
# modules; lean-host's tiers judge anon + swap only.
ANON_SHARE = 0.25

# ASSUMED: anonymous memory a worker keeps per proof (the REPL keeps every
# command's environment, so it grows until recycled).
ANON_PER_PROOF_GB = 0.04

# ASSUMED: starting a REPL process (lake env + repl) before any import.
SPAWN_S = 0.3

# ASSUMED: proof times are lognormal around the Kimina mean, sigma 0.6.
PROOF_SIGMA = 0.6

# ASSUMED: a client retries a retryable refusal (mailbox_full) after 1 s.
RETRY_S = 1.0


@dataclass(frozen=True)
class Header:
    name: str
    rss_gb: float      # RSS right after the import
    import_s: float    # time of the import in a live REPL
    weight: float      # share of proofs in the trace (ASSUMED)

    @property
    def anon_gb(self):
        return self.rss_gb * ANON_SHARE

    @property
    def file_gb(self):
        return self.rss_gb * (1.0 - ANON_SHARE)


def _scaled_import(rss_gb):
    # ASSUMED: import time proportional to the imported RSS, anchored on Mathlib.
    return MATHLIB_IMPORT_S * rss_gb / MATHLIB_RSS_GB


# "A handful of import headers".  Mathlib and Mathlib.Tactic are SOURCE
# (RSS); the other two RSS figures and all the weights are ASSUMED.
HEADERS = (
    Header("import Mathlib", MATHLIB_RSS_GB, MATHLIB_IMPORT_S, 0.55),
    Header("import Mathlib.Tactic", MATHLIB_TACTIC_RSS_GB, _scaled_import(MATHLIB_TACTIC_RSS_GB), 0.20),
    Header("import Mathlib.Data.Real.Basic", 2.0, _scaled_import(2.0), 0.15),
    Header("(no import: Init only)", 0.4, _scaled_import(0.4), 0.10),
)


def pick_header(rng, headers=HEADERS):
    return rng.choices(range(len(headers)), weights=[h.weight for h in headers])[0]


def proof_seconds(rng, mean=KIMINA_PROOF_CACHED_S):
    # lognormal with the given mean: mu = ln(mean) - sigma^2/2
    mu = math.log(mean) - PROOF_SIGMA ** 2 / 2
    return rng.lognormvariate(mu, PROOF_SIGMA)


# --- lean-host's current defaults (README "Configuration") -----------------

@dataclass(frozen=True)
class LeanHostConfig:
    import_switch_gb: float = 2 * GIB   # memory.import_switch_rss_soft_kib
    post_job_gb: float = 5 * GIB        # memory.worker_rss_post_job_restart_kib
    hard_gb: float = 16 * GIB           # memory.worker_rss_hard_kill_kib
    mailbox_capacity: int = 8           # project.mailbox_capacity
    max_requests: int = 64              # worker.max_requests
    max_imports: int = 8                # worker.max_imports
    idle_s: float = 600.0               # worker.idle_secs
    request_timeout_s: float = 120.0    # project.request_timeout_millis
    project_max_workers: int = 0        # project.max_workers (0 = min(4, CPUs - 1))
    pool_memory_gb: float = 0.0         # project.pool_memory_kib (0 = MemTotal)
    warm_successor: bool = True         # project.warm_successor

    def project_workers(self, cpus):
        # config.c: 0 = min(CPUs - 1, 4), at least 1
        if self.project_max_workers:
            return self.project_max_workers
        return min(cpus - 1, 4) if cpus > 1 else 1

    def max_workers(self, node_mem_gb):
        # worker.max_workers = 0: MemTotal / post-job tier (config_auto_max_workers)
        return max(1, int(node_mem_gb // self.post_job_gb))


# lean-host before the worker pools (until 2026-11-27): one worker per project,
# no warm successor.
BEFORE_POOLS = LeanHostConfig(project_max_workers=1, warm_successor=False)


def describe():
    """The cost model as rows (name, value, kind, source) for the README."""
    rows = [
        ("`import Mathlib` RSS", f"{MATHLIB_RSS_GB} GB", "source", "zcash/ironwood PR #144"),
        ("`import Mathlib.Tactic` RSS", f"{MATHLIB_TACTIC_RSS_GB} GB", "source", "zcash/ironwood PR #144"),
        ("proof, header cached", f"{KIMINA_PROOF_CACHED_S} s (lognormal mean, sigma {PROOF_SIGMA} assumed)", "source",
         "Kimina Lean Server report (arXiv 2504.21230), via the throughput issue"),
        ("proof, header uncached", f"{KIMINA_PROOF_UNCACHED_S} s", "source", "same"),
        ("`import Mathlib` time", f"{MATHLIB_IMPORT_S:.2f} s", "derived", "uncached − cached"),
        ("other imports' time", "∝ RSS", "assumed", ""),
        ("other headers' RSS", "2.0 / 0.4 GB", "assumed", ""),
        ("header mix", " / ".join(f"{h.weight:.2f}" for h in HEADERS), "assumed", ""),
        ("anonymous share of import RSS", f"{ANON_SHARE}", "assumed", ".olean files are mmapped"),
        ("anon growth per proof", f"{ANON_PER_PROOF_GB} GB", "assumed", ""),
        ("REPL spawn", f"{SPAWN_S} s", "assumed", ""),
    ]
    return rows
