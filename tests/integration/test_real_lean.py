# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Lean tools against a real Lean REPL. Runs only when `lake` is on PATH
and LEAN_HOST_REAL_PROJECT names a Lake project whose REPL is installed
(`lake env repl` must work there); skips with the reason otherwise.

These assertions are what the daemon expects real Lean (v4.x, recorded
against v4.33.0-rc2) to answer; they have not been run against a real Lean
where they were written (no toolchain there)."""

import os
import shutil

import pytest

from conftest import error_of, lean_run_args, tool_body

pytestmark = [
    pytest.mark.skipif(shutil.which("lake") is None, reason="no Lean toolchain: lake is not on PATH"),
    pytest.mark.skipif(not os.environ.get("LEAN_HOST_REAL_PROJECT"),
                       reason="LEAN_HOST_REAL_PROJECT is not set (a Lake project with the REPL installed)"),
]

TIMEOUT = 600  # first import of a project can take minutes


@pytest.fixture
def real(start_daemon):
    d = start_daemon(env={
        "LEAN_HOST_MCP_WORKER_COMMAND": None,  # the default: lake env repl
        "LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB": None,
        "LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB": None,
        "LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB": None,
    })
    with d.client(timeout=TIMEOUT) as c:
        c.initialize()
        yield c, os.environ["LEAN_HOST_REAL_PROJECT"]


def result(res):
    assert not res.get("isError"), tool_body(res)
    return tool_body(res)["result"]


def test_real_run(real):
    c, project = real
    r = result(c.call_tool("lean_run", lean_run_args(project, "theorem t : 1 + 1 = 2 := rfl"), timeout=TIMEOUT))
    assert r["has_errors"] is False and r["has_sorry"] is False


def test_real_proof_attempt(real):
    c, project = real
    r = result(c.call_tool("lean_proof_attempt", {"project": project, "statement": "∀ n : Nat, n + 0 = n",
                                                  "proof": "by\n  intro n\n  rfl"}, timeout=TIMEOUT))
    assert r["success"] is True, r

    r = result(c.call_tool("lean_proof_attempt", {"project": project, "statement": "∀ n : Nat, n + 0 = n"},
                           timeout=TIMEOUT))
    assert r["has_sorry"] is True and len(r["proof_states"]) == 1
    t = result(c.call_tool("lean_proof_attempt", {"project": project, "proof_state": r["proof_states"][0],
                                                  "tactic": "intro n", "worker_generation": r["worker_generation"]},
                           timeout=TIMEOUT))
    assert t["success"] is False and len(t["goals"]) == 1
    done = result(c.call_tool("lean_proof_attempt", {"project": project, "proof_state": t["proof_state"],
                                                     "tactic": "rfl"}, timeout=TIMEOUT))
    assert done["success"] is True and done["proof_status"] == "Completed"

    r = result(c.call_tool("lean_proof_attempt", {"project": project, "statement": "1 = 2", "proof": "by rfl"},
                           timeout=TIMEOUT))
    assert r["success"] is False and r["has_errors"] is True


def test_real_verify(real):
    c, project = real
    r = result(c.call_tool("lean_declaration_verify", {"project": project, "name": "Nat.add_comm"}, timeout=TIMEOUT))
    assert r["found"] is True and r["ok"] is True, r

    r = result(c.call_tool("lean_declaration_verify", {"project": project, "name": "lazy",
                                                       "code": "theorem lazy : 1 = 2 := sorry"}, timeout=TIMEOUT))
    assert r["ok"] is False and r["has_sorry"] is True and "sorryAx" in r["axioms"], r

    r = result(c.call_tool("lean_declaration_verify", {"project": project, "name": "em'",
                                                       "code": "theorem em' (p : Prop) : p ∨ ¬p := Classical.em p",
                                                       "allowed_axioms": ["propext"]}, timeout=TIMEOUT))
    assert r["ok"] is False and "Classical.choice" in r["disallowed_axioms"], r

    err = error_of(c.call_tool("lean_declaration_verify", {"project": project, "name": "a b"}, timeout=TIMEOUT))
    assert err and err["code"] == "invalid_arguments"
