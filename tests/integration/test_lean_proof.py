# SPDX-License-Identifier: LGPL-2.1-or-later
"""lean_proof_attempt, lean_declaration_verify and _batch end to end, with
the replay worker tests/double/lean-repl-transcript: recorded REPL replies
(tests/fixtures/lean-repl) where a command matches, synthetic ones (marked
"_synthetic") for what the daemon generates. Nothing here runs a real Lean."""

import os

import pytest

from conftest import SOURCE_ROOT, error_of, lean_run_args, tool_body

TRANSCRIPT = os.path.join(SOURCE_ROOT, "tests", "double", "lean-repl-transcript")
FIXTURES = os.environ.get("LEAN_REPL_FIXTURES") or os.path.join(SOURCE_ROOT, "tests", "fixtures", "lean-repl")


def transcript_inputs():
    """Where the recorded *.in commands are (the repo keeps only the
    replies; the shared checkout next to it has both)."""
    for d in (os.environ.get("LEAN_REPL_TRANSCRIPT_INPUTS"), FIXTURES,
              os.path.join(SOURCE_ROOT, "..", "shared", "fixtures", "lean-repl")):
        if d and os.path.exists(os.path.join(d, "proof_step.in")):
            return d
    return None


@pytest.fixture
def pclient(start_daemon):
    env = {"LEAN_HOST_MCP_WORKER_COMMAND": TRANSCRIPT, "LEAN_REPL_FIXTURES": FIXTURES}
    if transcript_inputs():
        env["LEAN_REPL_TRANSCRIPT_INPUTS"] = transcript_inputs()
    d = start_daemon(env=env)
    with d.client() as c:
        c.initialize()
        yield c


def ok_result(res):
    assert not res.get("isError"), tool_body(res)
    return tool_body(res)["result"]


def attempt(c, project, **kw):
    return c.call_tool("lean_proof_attempt", dict(project=str(project), **kw))


def verify(c, project, **kw):
    return c.call_tool("lean_declaration_verify", dict(project=str(project), **kw))


# ---------------------------------------------------------------- lean_proof_attempt


def test_attempt_statement_with_proof(pclient, lean_project):
    r = ok_result(attempt(pclient, lean_project, statement="∀ n : Nat, n + 0 = n", proof="by\n  intro n\n  rfl"))
    assert r["mode"] == "statement"
    assert r["success"] is True
    assert r["goals"] == [] and r["proof_states"] == []
    assert r["source"].startswith("theorem _lean_host_attempt :\n∀ n : Nat, n + 0 = n\n  :=\nby\n")
    assert r["worker_generation"] >= 1
    assert "_synthetic" in r  # the double's marker passes through: this was not a real Lean


def test_attempt_unsolved_goals(pclient, lean_project):
    r = ok_result(attempt(pclient, lean_project, statement="1 = 2", proof="by fail_goal"))
    assert r["success"] is False
    assert r["has_errors"] is True
    assert r["goals"] == ["⊢ 1 = 2"]


def test_attempt_tactic_continuation(pclient, lean_project):
    r = ok_result(attempt(pclient, lean_project, statement="∀ n : Nat, n + 0 = n"))
    assert r["success"] is False and r["has_sorry"] is True
    assert len(r["proof_states"]) == 1
    assert r["goals"] == ["⊢ ∀ n : Nat, n + 0 = n"]
    gen = r["worker_generation"]

    t = ok_result(attempt(pclient, lean_project, proof_state=r["proof_states"][0], tactic="intro n",
                          worker_generation=gen))
    assert t["mode"] == "tactic"
    assert t["success"] is False
    assert t["proof_status"] == "Incomplete: open goals remain"
    assert t["goals"] == ["n : Nat\n⊢ n + 0 = n"]

    done = ok_result(attempt(pclient, lean_project, proof_state=t["proof_state"], tactic="rfl"))
    assert done["success"] is True
    assert done["proof_status"] == "Completed"
    assert done["goals"] == []

    bad = ok_result(attempt(pclient, lean_project, proof_state=t["proof_state"], tactic="no_such_tactic"))
    assert bad["success"] is False
    assert "unknown tactic" in bad["tactic_error"]


def test_attempt_signature_statement(pclient, lean_project):
    """A statement written as bare binders is the theorem's signature."""
    r = ok_result(attempt(pclient, lean_project, statement="(n : Nat) : n + 0 = n", proof="by simp"))
    assert r["source"] == "theorem _lean_host_attempt\n(n : Nat) : n + 0 = n\n  :=\nby simp"
    assert r["success"] is True, r


def test_attempt_tactic_script(pclient, lean_project):
    """The REPL parses a tactic-mode command as ONE tactic: a newline-separated
    script goes as one parenthesised block, not as a parse error."""
    r = ok_result(attempt(pclient, lean_project, statement="True ∧ True"))
    t = ok_result(attempt(pclient, lean_project, proof_state=r["proof_states"][0],
                          tactic="constructor\ntrivial\ntrivial"))
    assert "tactic_error" not in t, t
    assert t["success"] is True and t["proof_status"] == "Completed" and t["goals"] == []
    # a one-line tactic goes as it is
    t = ok_result(attempt(pclient, lean_project, proof_state=r["proof_states"][0], tactic="constructor"))
    assert t["goals"] == ["⊢ True", "⊢ True"]


def test_attempt_recorded_multiline_tactic(pclient, lean_project):
    """Mathlib/induction.in: a recorded multi-line tactic (one `induction …
    with` the REPL accepts) still gets its recorded reply when sent as the
    ( … ) block."""
    if not transcript_inputs():
        pytest.skip("the recorded *.in commands are not available (set LEAN_REPL_TRANSCRIPT_INPUTS)")
    run = ok_result(pclient.call_tool("lean_run", lean_run_args(lean_project,
                                                                "theorem foo (x : Nat) : x = x := by sorry")))
    state = run["sorries"][0]["proof_state"]
    t = ok_result(attempt(pclient, lean_project, proof_state=state,
                          tactic="induction x with\n| zero => sorry\n| succ x => sorry"))
    assert "_synthetic" not in t
    assert t["proof_status"] == "Incomplete: contains sorry"
    assert [s["goal"] for s in t["sorries"]] == ["case zero\n⊢ 0 = 0", "case succ\nx : ℕ\na✝ : x = x\n⊢ x + 1 = x + 1"]


def test_attempt_recorded_transcript(pclient, lean_project):
    """proof_step.in/expected.out: `def f : Nat := by sorry` through lean_run,
    then the recorded tactics through lean_proof_attempt."""
    if not transcript_inputs():
        pytest.skip("the recorded *.in commands are not available (set LEAN_REPL_TRANSCRIPT_INPUTS)")
    run = ok_result(pclient.call_tool("lean_run", lean_run_args(lean_project, "def f : Nat := by sorry")))
    assert "_synthetic" not in run
    state = run["sorries"][0]["proof_state"]

    t = ok_result(attempt(pclient, lean_project, proof_state=state, tactic="apply Int.natAbs"))
    assert t["goals"] == ["⊢ Int"]
    assert t["success"] is False
    assert "_synthetic" not in t

    h = ok_result(attempt(pclient, lean_project, proof_state=state, tactic="have t : Nat := 42"))
    assert h["goals"] == ["t : Nat\n⊢ Nat"]
    e = ok_result(attempt(pclient, lean_project, proof_state=h["proof_state"], tactic="exact t"))
    assert e["success"] is True and e["proof_status"] == "Completed"


def test_attempt_invalid_arguments(pclient, lean_project):
    for kw, want in [
        (dict(statement="True\ntheorem x : False := sorry"), "theorem"),
        (dict(statement="import Mathlib\nTrue"), "import"),
        (dict(statement="True", proof="trivial\n#eval 1"), "#eval"),
        (dict(statement="True /- open"), "unterminated"),
        (dict(statement="True", proof_state=0, tactic="rfl"), "either"),
        (dict(proof_state=0), "tactic"),
        (dict(statement="True", imports=["not a module"]), "module name"),
        (dict(proof_state=0, tactic="simp\nexample : True := trivial"), "example"),
    ]:
        res = attempt(pclient, lean_project, **kw)
        err = error_of(res)
        assert err is not None, (kw, tool_body(res))
        assert err["code"] == "invalid_arguments", err
        assert err["retryable"] is False
        assert want in err["message"], err


def test_attempt_proof_state_lost(pclient, lean_project):
    r = ok_result(attempt(pclient, lean_project, statement="1 = 1"))
    state, gen = r["proof_states"][0], r["worker_generation"]

    # the REPL does not know the id
    err = error_of(attempt(pclient, lean_project, proof_state=state + 1000, tactic="rfl"))
    assert err and err["code"] == "proof_state_lost" and err["retryable"] is False, err

    # the worker goes away: its proof states with it
    res = pclient.call_tool("lean_run", lean_run_args(lean_project, "-- @transcript exit\n"))
    assert res.get("isError")
    err = error_of(attempt(pclient, lean_project, proof_state=state, tactic="rfl"))
    assert err and err["code"] == "proof_state_lost" and err["retryable"] is False, err
    assert "gone" in err["message"]

    # a new worker hands out the same small ids again: the generation tells them apart
    r2 = ok_result(attempt(pclient, lean_project, statement="1 = 1"))
    assert r2["worker_generation"] > gen
    err = error_of(attempt(pclient, lean_project, proof_state=r2["proof_states"][0], tactic="rfl",
                           worker_generation=gen))
    assert err and err["code"] == "proof_state_lost", err
    ok = ok_result(attempt(pclient, lean_project, proof_state=r2["proof_states"][0], tactic="rfl",
                           worker_generation=r2["worker_generation"]))
    assert ok["success"] is True


# ---------------------------------------------------------------- lean_declaration_verify


def test_verify_library_name(pclient, lean_project):
    r = ok_result(verify(pclient, lean_project, name="Nat.add_comm"))
    assert r["ok"] is True and r["found"] is True and r["compiled"] is True
    assert r["axioms"] == [] and r["disallowed_axioms"] == []
    assert r["allowed_axioms"] == ["propext", "Classical.choice", "Quot.sound"]

    r = ok_result(verify(pclient, lean_project, name="Classical.em"))
    assert r["ok"] is True
    assert sorted(r["axioms"]) == ["Classical.choice", "Quot.sound", "propext"]

    r = ok_result(verify(pclient, lean_project, name="Classical.em", allowed_axioms=["propext"]))
    assert r["ok"] is False
    assert sorted(r["disallowed_axioms"]) == ["Classical.choice", "Quot.sound"]


def test_verify_code(pclient, lean_project):
    r = ok_result(verify(pclient, lean_project, name="good", code="theorem good : 1 = 1 := rfl"))
    assert r["ok"] is True and r["has_sorry"] is False

    r = ok_result(verify(pclient, lean_project, name="lazy", code="theorem lazy : 1 = 2 := sorry"))
    assert r["ok"] is False
    assert r["has_sorry"] is True
    assert "sorryAx" in r["axioms"] and "sorryAx" in r["disallowed_axioms"]
    assert any("sorry" in m["data"] for m in r["messages"])

    code = "axiom my_ax : False\ntheorem cheat : 1 = 2 := my_ax.elim"
    r = ok_result(verify(pclient, lean_project, name="cheat", code=code))
    assert r["ok"] is False and r["has_sorry"] is False
    assert r["disallowed_axioms"] == ["my_ax"]
    r = ok_result(verify(pclient, lean_project, name="cheat", code=code, allowed_axioms=["my_ax"]))
    assert r["ok"] is True

    r = ok_result(verify(pclient, lean_project, name="broken", code="theorem broken : 1 = 1 := bogus_ident"))
    assert r["compiled"] is False and r["ok"] is False

    r = ok_result(verify(pclient, lean_project, name="does_not_exist"))
    assert r["found"] is False and r["ok"] is False
    assert any("unknown constant" in m["data"] for m in r["messages"])


def test_verify_invalid_arguments(pclient, lean_project):
    for kw in [dict(name="foo bar"), dict(name="foo\n#eval 1"), dict(name="a--b"), dict(name="x", allowed_axioms=["bad name"]),
               dict(code="theorem t : True := trivial")]:
        err = error_of(verify(pclient, lean_project, **kw))
        assert err and err["code"] == "invalid_arguments", (kw, err)


def test_verify_batch(pclient, lean_project):
    items = [
        {"name": "good", "code": "theorem good : 1 = 1 := rfl"},
        {"name": "bad name"},
        {"name": "lazy", "code": "theorem lazy : 1 = 2 := sorry"},
        {"name": "Nat.add_comm"},
        {"name": "elsewhere", "imports": ["Other.Module"]},
        {"name": "missing_decl"},
    ]
    res = pclient.call_tool("lean_declaration_verify_batch", {"project": str(lean_project), "items": items})
    r = ok_result(res)
    out = r["items"]
    assert [i["name"] for i in out] == [i["name"] for i in items]
    assert out[0]["ok"] is True
    assert out[1]["ok"] is False and out[1]["error"]["code"] == "invalid_arguments"
    assert out[2]["ok"] is False and out[2]["has_sorry"] is True
    assert out[3]["ok"] is True
    assert out[4]["ok"] is False and out[4]["error"]["code"] == "imports_mismatch"
    assert out[5]["ok"] is False and out[5]["found"] is False
    assert r["n_ok"] == 2 and r["all_ok"] is False

    # every item invalid: answered without a worker
    r = ok_result(pclient.call_tool("lean_declaration_verify_batch",
                                    {"project": str(lean_project), "items": [{"name": "a b"}]}))
    assert r["items"][0]["error"]["code"] == "invalid_arguments" and r["all_ok"] is False
