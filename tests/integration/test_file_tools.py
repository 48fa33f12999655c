# SPDX-License-Identifier: LGPL-2.1-or-later
"""lean_file_diagnostics, lean_goal_at and lean_multi_attempt end to end,
replayed on the recorded file-mode transcripts: the worker is
tests/double/lean-repl-transcript, which answers {"path": "test/file.lean",
"allTactics": true} (file.in, file2.in) with the recorded reply only when the
file it reads (relative to the project root, as the REPL does) holds the
recorded upstream source. Tactics tried on the recorded proof states follow
the double's synthetic rules (marked "_synthetic"). Nothing here runs a real
Lean."""

import os
import shutil

import pytest

from conftest import SOURCE_ROOT, error_of, tool_body

TRANSCRIPT = os.path.join(SOURCE_ROOT, "tests", "double", "lean-repl-transcript")
FIXTURES = os.environ.get("LEAN_REPL_FIXTURES") or os.path.join(SOURCE_ROOT, "tests", "fixtures", "lean-repl")


@pytest.fixture
def fclient(start_daemon):
    env = {"LEAN_HOST_MCP_WORKER_COMMAND": TRANSCRIPT, "LEAN_REPL_FIXTURES": FIXTURES,
           "LEAN_REPL_TRANSCRIPT_INPUTS": FIXTURES}
    d = start_daemon(env=env)
    with d.client() as c:
        c.initialize()
        yield c


@pytest.fixture
def project(lean_project):
    """The project with the recorded sources at the recorded paths."""
    (lean_project / "test").mkdir()
    for name in ("file.lean", "file2.lean"):
        shutil.copy(os.path.join(FIXTURES, name), lean_project / "test" / name)
    return lean_project


def ok(res):
    assert not res.get("isError"), tool_body(res)
    return tool_body(res)["result"]


def call(c, tool, project, **kw):
    return c.call_tool(tool, dict(project=str(project), **kw))


# ---------------------------------------------------------------- tools/list


def test_listed_with_position_rules(fclient):
    tools = {t["name"]: t for t in fclient.request("tools/list")["result"]["tools"]}
    for name in ("lean_file_diagnostics", "lean_goal_at", "lean_multi_attempt"):
        t = tools[name]
        # the file is the caller's Lean: it runs (#eval) — not read-only
        assert t["annotations"]["readOnlyHint"] is False
        assert "0-based" in t["description"]
    for name in ("lean_goal_at", "lean_multi_attempt"):
        props = tools[name]["inputSchema"]["properties"]
        assert "1-based" in props["line"]["description"]
        assert "1-based" in props["column"]["description"] and "codepoints" in props["column"]["description"]
        assert set(tools[name]["inputSchema"]["required"]) >= {"project", "path", "line"}


# ---------------------------------------------------------------- diagnostics


def test_diagnostics_recorded_file(fclient, project):
    r = ok(call(fclient, "lean_file_diagnostics", project, path="test/file.lean"))
    assert r["path"] == "test/file.lean"
    assert r["complete"] is True and r["unfinished_reason"] is None
    assert r["messages"] == [] and r["has_errors"] is False and r["error_count"] == 0
    assert "0-based" in r["positions"]
    assert "_synthetic" not in r


def test_diagnostics_absolute_path_and_messages(fclient, project):
    """An absolute path under the root is the same file; a file with
    problems reports them (synthetic rules: sorry, bogus_ident)."""
    (project / "Bad.lean").write_text("theorem t : bogus_ident = 1 := sorry\n")
    r = ok(call(fclient, "lean_file_diagnostics", project, path=str(project / "Bad.lean")))
    assert r["path"] == "Bad.lean"
    assert r["complete"] is True
    assert r["has_errors"] is True and r["error_count"] == 1
    assert r["has_sorry"] is True and r["sorries"]
    assert {m["severity"] for m in r["messages"]} == {"error", "warning"}


def test_diagnostics_missing_file_is_not_no_errors(fclient, project):
    res = call(fclient, "lean_file_diagnostics", project, path="test/nope.lean")
    e = error_of(res)
    assert e["code"] == "file_not_found" and e["retryable"] is False
    assert e["complete"] is False and e["path"] == "test/nope.lean"
    assert "no such file or directory" in e["message"]


def test_diagnostics_worker_death_is_not_no_errors(fclient, project):
    """A file whose elaboration never answers (here: the worker exits
    mid-file) is an error saying complete: false, never an empty list."""
    (project / "Dies.lean").write_text("-- @transcript exit\ntheorem t : 1 = 1 := rfl\n")
    res = call(fclient, "lean_file_diagnostics", project, path="Dies.lean")
    e = error_of(res)
    assert e is not None, tool_body(res)
    assert e["complete"] is False and e["path"] == "Dies.lean"
    assert "messages" not in tool_body(res).get("result", {})


@pytest.mark.parametrize("path,code", [
    ("../outside.lean", "path_outside_project"),
    ("test/../../x.lean", "path_outside_project"),
    ("/etc/passwd.lean", "path_outside_project"),
    ("test/file.txt", "invalid_arguments"),
    ("test/", "invalid_arguments"),
])
def test_diagnostics_refuses_paths(fclient, project, path, code):
    e = error_of(call(fclient, "lean_file_diagnostics", project, path=path))
    assert e["code"] == code, e
    assert "arguments.path" in e["message"]


# ---------------------------------------------------------------- goal at a position


def test_goal_at_recorded_tactic(fclient, project):
    """file.lean line 5: `theorem h : f + g = 39 := by exact rfl`; Lean
    reports the tactic at columns 29..38 (0-based), i.e. 30..39 1-based."""
    for col in (30, 35, 39):
        r = ok(call(fclient, "lean_goal_at", project, path="test/file.lean", line=5, column=col))
        assert r["found"] is True, (col, r)
        assert r["goals"] == "⊢ f + g = 39"
        assert [t["tactic"] for t in r["tactics"]] == ["exact rfl"]
        assert r["tactics"][0]["pos"] == {"line": 5, "column": 29}
        assert "innermost" in r["chosen"]
        assert r["position"]["line"] == 5 and r["position"]["column"] == col


def test_goal_at_no_tactic_is_a_result(fclient, project):
    r = ok(call(fclient, "lean_goal_at", project, path="test/file.lean", line=5, column=29))
    assert r["found"] is False and r["goals"] is None and r["tactics"] == []
    assert [t["tactic"] for t in r["tactics_on_line"]] == ["exact rfl"]
    assert "no tactic" in r["message"]
    r = ok(call(fclient, "lean_goal_at", project, path="test/file.lean", line=1, column=1))
    assert r["found"] is False and r["tactics_on_line"] == []


def test_goal_at_line_only(fclient, project):
    """file2.lean line 7: `  rw [Nat.add_assoc, Nat.add_comm y, h1]`."""
    r = ok(call(fclient, "lean_goal_at", project, path="test/file2.lean", line=7))
    assert r["found"] is True
    assert r["goals"] == "x y z : Nat\n⊢ x + y + (z + a) = x + (z + b + y)"
    assert "starts on the line" in r["chosen"]
    assert r["tactics"][0]["tactic"] == "rw [Nat.add_assoc, Nat.add_comm y, h1]"


def test_goal_at_sorry(fclient, project):
    (project / "S.lean").write_text("theorem t : 1 = 1 := sorry\n")
    r = ok(call(fclient, "lean_goal_at", project, path="S.lean", line=1))
    assert r["found"] is True and r["sorry"]["goal"] and r["goals"] == r["sorry"]["goal"]


def test_goal_at_schema_refuses_column_zero(fclient, project):
    e = error_of(call(fclient, "lean_goal_at", project, path="test/file.lean", line=5, column=0))
    assert e["code"] == "invalid_arguments"


# ---------------------------------------------------------------- several tactics at a position


def test_multi_attempt_on_recorded_state(fclient, project):
    r = ok(call(fclient, "lean_multi_attempt", project, path="test/file.lean", line=5, column=32,
                snippets=["rfl", "no_such_tactic", "constructor\ntrivial"]))
    assert r["found"] is True and r["proof_state_from"] == "tactic"
    assert r["goals_before"] == "⊢ f + g = 39"
    assert r["at"]["tactic"] == "exact rfl"
    a = r["attempts"]
    assert [x["snippet"] for x in a] == ["rfl", "no_such_tactic", "constructor\ntrivial"]
    assert a[0]["solved"] is True and a[0]["proof_status"] == "Completed" and a[0]["goals"] == []
    assert a[1]["solved"] is False and "unknown tactic" in a[1]["error"]
    assert "error" not in a[2], a[2]   # a script runs as one block, not a parse error
    assert r["solved_by"] == ["rfl"]


def test_multi_attempt_nothing_there(fclient, project):
    r = ok(call(fclient, "lean_multi_attempt", project, path="test/file.lean", line=1, snippets=["rfl"]))
    assert r["found"] is False and r["attempts"] == [] and "nothing was tried" in r["message"]


def test_multi_attempt_on_sorry(fclient, project):
    (project / "S.lean").write_text("theorem t : 1 = 1 := sorry\n")
    r = ok(call(fclient, "lean_multi_attempt", project, path="S.lean", line=1, snippets=["rfl", "sorry"]))
    assert r["proof_state_from"] == "sorry"
    assert r["attempts"][0]["solved"] is True
    assert r["attempts"][1]["solved"] is False


def test_multi_attempt_argument_rules(fclient, project):
    e = error_of(call(fclient, "lean_multi_attempt", project, path="test/file.lean", line=5, snippets=[]))
    assert e["code"] == "invalid_arguments"
    e = error_of(call(fclient, "lean_multi_attempt", project, path="test/file.lean", line=5,
                      snippets=["rfl"] * 17))
    assert e["code"] == "invalid_arguments"
    e = error_of(call(fclient, "lean_multi_attempt", project, path="../x.lean", line=5, snippets=["rfl"]))
    assert e["code"] == "path_outside_project"
