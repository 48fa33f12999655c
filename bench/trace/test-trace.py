#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The trace's counting, on bench/trace/test's synthetic program (whose calls
are known): test-trace.py SYNTH LH_TRACE ROOT."""

import json
import os
import subprocess
import sys
import tempfile


def main():
    synth, lh_trace, root = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "t")
        r = subprocess.run([synth], env=dict(os.environ, LH_TRACE_OUT=prefix))
        assert r.returncode == 0, r
        dumps = [os.path.join(tmp, f) for f in os.listdir(tmp)]
        assert len(dumps) == 1, dumps
        out = subprocess.run([sys.executable, lh_trace, "analyze", synth, dumps[0], "--root", root, "--json"],
                             capture_output=True, text=True, check=True).stdout
    rep = next(iter(json.loads(out).values()))
    want = {
        "calls": 1 + 3 + 6 + 3 + 6,       # main, project_step, worker_run, project_local, mcp_callback
        "files_touched": 3,
        "modules_touched": ["mcp", "project", "worker"],
        "cross_file_calls": 3 + 6 + 6,
        "module_crossings": 15,
        "crossings_down": 3 + 6,
        "crossings_up": 6,
        "boundaries": {"project->worker": 6, "worker->mcp": 6, "mcp->project": 3},
    }
    bad = {k: (rep.get(k), v) for k, v in want.items() if rep.get(k) != v}
    if bad:
        print(json.dumps(rep, indent=1))
        print("mismatch (got, want):", bad)
        return 1
    print("trace counts as expected:", json.dumps({k: rep[k] for k in want}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
