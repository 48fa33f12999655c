# SPDX-License-Identifier: LGPL-2.1-or-later
"""lean_module_query(_batch), lean_declaration_inspect, lean_declaration_search
and lean_proof_search end to end, with the SYNTHETIC worker
tests/double/lean-repl-meta (invented declarations; shaped like real REPL
replies). The generated Lean itself is not exercised against a real Lean here."""

import os
import time

import pytest

from conftest import error_of, runtime_facts, tool_body

HERE = os.path.dirname(os.path.abspath(__file__))
META_DOUBLE = os.path.join(HERE, "..", "double", "lean-repl-meta")
LONG = 120


@pytest.fixture
def meta(start_daemon, tmp_path):
    log = tmp_path / "meta.log"
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": os.path.realpath(META_DOUBLE),
                          "LEAN_META_LOG": str(log)})
    with d.client() as c:
        c.initialize()
        yield c, log


def call(c, name, args):
    return c.call_tool(name, args, timeout=LONG)


def ok(result):
    assert not result.get("isError"), tool_body(result)
    return tool_body(result)["result"]


def log_lines(log):
    return log.read_text().split() if log.exists() else []


def test_module_query_selectors_budgets_cache(meta, lean_project):
    c, log = meta
    p = str(lean_project)
    r = call(c, "lean_module_query", {"project": p, "module": "Demo.Basic"})
    res = ok(r)
    names = [d["name"] for d in res["declarations"]]
    assert names[0] == "Demo.foo" and len(names) == 8
    assert res["total"] == 8 and res["truncated"] is False and res["cached"] is False
    assert "type" not in res["declarations"][0] and "doc" not in res["declarations"][0]
    body = tool_body(r)
    assert body["freshness"]["imports"] == ["Lean", "Demo.Basic"]

    # selectors: kinds, prefix, name pattern, type and doc
    res = ok(call(c, "lean_module_query", {
        "project": p, "module": "Demo.Basic",
        "selectors": {"kinds": ["def", "theorem"], "include_type": True, "include_doc": True}}))
    assert [d["name"] for d in res["declarations"]] == ["Demo.foo", "Demo.foo_add", "Demo.Sub.helper",
                                                        "Demo.choice_lemma"]
    assert res["declarations"][0]["type"] == "Nat → Nat"
    assert res["declarations"][0]["doc"] == "Doubles a number."
    assert res["declarations"][0]["line"] == 3
    res = ok(call(c, "lean_module_query", {"project": p, "module": "Demo.Basic",
                                           "selectors": {"prefix": "Demo.Bar"}}))
    assert [d["name"] for d in res["declarations"]] == ["Demo.Bar", "Demo.Bar.mk", "Demo.Bar.rec"]
    res = ok(call(c, "lean_module_query", {"project": p, "module": "Demo.Basic",
                                           "selectors": {"name_pattern": "foo"}}))
    assert [d["name"] for d in res["declarations"]] == ["Demo.foo", "Demo.foo_add"]

    # budgets: truncation flagged, counts kept
    res = ok(call(c, "lean_module_query", {"project": p, "module": "Demo.Basic", "budgets": {"max_items": 3}}))
    assert res["returned"] == 3 and res["matched"] == 8
    assert res["truncated"] is True and res["truncated_by"] == "max_items"
    res = ok(call(c, "lean_module_query", {"project": p, "module": "Demo.Basic",
                                           "selectors": {"include_type": True}, "budgets": {"max_chars": 120}}))
    assert 0 < res["returned"] < 8
    assert res["truncated"] is True and res["truncated_by"] == "max_chars"

    # the same call again: from the cache, no worker request
    before = log_lines(log)
    assert before.count("module_query") == 6
    r2 = call(c, "lean_module_query", {"project": p, "module": "Demo.Basic", "budgets": {"max_items": 3}})
    res2 = ok(r2)
    assert res2["cached"] is True and res2["returned"] == 3 and res2["truncated"] is True
    assert log_lines(log) == before
    assert "runtime" in tool_body(r2) and "freshness" in tool_body(r2)


def test_cache_hit_without_worker(meta, lean_project):
    c, log = meta
    p = str(lean_project)
    args = {"project": p, "module": "Demo.Basic", "selectors": {"kinds": ["structure"]}}
    res = ok(call(c, "lean_module_query", args))
    assert [d["name"] for d in res["declarations"]] == ["Demo.Bar"]
    pid = runtime_facts(call(c, "lean_project_status", {"project": p})).get("worker_pid")
    assert pid and pid > 0
    os.kill(pid, 9)
    deadline = time.time() + 20
    while time.time() < deadline:
        facts = runtime_facts(call(c, "lean_project_status", {"project": p}))
        if not facts.get("worker_pid"):
            break
        time.sleep(0.1)
    n = len(log_lines(log))
    r = call(c, "lean_module_query", args)
    res = ok(r)
    assert res["cached"] is True and [d["name"] for d in res["declarations"]] == ["Demo.Bar"]
    assert len(log_lines(log)) == n  # no worker was started for it
    assert not runtime_facts(r).get("worker_pid")

    # a manifest change is a new key: asks the worker again
    (lean_project / "lake-manifest.json").write_text('{"version": 7, "packages": []}\n')
    res = ok(call(c, "lean_module_query", args))
    assert res["cached"] is False


def test_module_query_errors(meta, lean_project):
    c, _ = meta
    p = str(lean_project)
    for bad in ["Demo Basic", "Demo.Basic\n#exit", "Demo..Basic", "\"x\""]:
        r = call(c, "lean_module_query", {"project": p, "module": bad})
        e = error_of(r)
        assert e and e["code"] == "invalid_arguments", tool_body(r)
    e = error_of(call(c, "lean_module_query", {"project": p, "module": "Missing.Thing"}))
    assert e and e["code"] == "import_failed"


def test_batch_one_bad_module(meta, lean_project):
    c, _ = meta
    p = str(lean_project)
    r = call(c, "lean_module_query_batch", {"project": p, "items": [
        {"module": "Demo.Basic", "selectors": {"kinds": ["instance"]}},
        {"module": "not a module!"},
        {"module": "Demo.Empty"},
        {"module": "Demo.Basic", "budgets": {"max_items": 1}},
    ]})
    items = ok(r)["items"]
    assert len(items) == 4
    assert [d["name"] for d in items[0]["result"]["declarations"]] == ["Demo.instInhabitedBar"]
    assert items[1]["error"]["code"] == "invalid_arguments"
    assert items[2]["result"]["total"] == 0 and items[2]["result"]["declarations"] == []
    assert items[3]["result"]["truncated"] is True and items[3]["result"]["returned"] == 1
    # all items cached now: answered without a worker request
    r = call(c, "lean_module_query_batch", {"project": p, "items": [
        {"module": "Demo.Empty"}, {"module": "bad name"}]})
    items = ok(r)["items"]
    assert items[0]["result"]["cached"] is True
    assert items[1]["error"]["code"] == "invalid_arguments"


def test_batch_missing_module_fails_only_its_item(meta, lean_project):
    """A module that does not import breaks the shared import header; the
    batch then runs each open item with its own header, so only it fails."""
    c, _ = meta
    p = str(lean_project)
    r = call(c, "lean_module_query_batch", {"project": p, "items": [
        {"module": "Missing.Thing"},
        {"module": "Demo.Basic", "selectors": {"kinds": ["instance"]}},
    ]})
    items = ok(r)["items"]
    assert len(items) == 2
    assert "result" not in items[0], items[0]
    assert items[0]["error"]["code"] == "import_failed", items[0]
    assert "Missing.Thing" in items[0]["error"]["message"]
    assert [d["name"] for d in items[1]["result"]["declarations"]] == ["Demo.instInhabitedBar"]


def test_declaration_inspect(meta, lean_project):
    c, _ = meta
    p = str(lean_project)
    res = ok(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.choice_lemma",
                                                  "imports": ["Demo.Basic"]}))
    assert res["kind"] == "theorem" and res["type"] == "∃ n, n = 0"
    assert res["doc"] == "Uses choice." and res["module"] == "Demo.Basic"
    assert res["position"] == {"line": 18, "column": 0}
    assert res["axioms"] == ["propext", "Classical.choice", "Quot.sound"]
    assert res["uses_sorry"] is False and "value" not in res

    res = ok(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.foo", "imports": ["Demo.Basic"],
                                                  "include_value": True, "max_chars": 40}))
    assert len(res["value"]) == 40 and res["value_chars"] > 40 and "value" in res["truncated"]

    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.nope"}))
    assert e["code"] == "unknown_declaration"
    for bad in ["Demo.foo\n#exit", "a b", "x\")"]:
        e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": bad}))
        assert e and e["code"] == "invalid_arguments"
    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Nat.add", "imports": ["Bad Import"]}))
    assert e and e["code"] == "invalid_arguments"


def test_declaration_inspect_default_imports(meta, lean_project):
    """Without "imports", the project's own root modules (its default
    lean_lib's roots in the lakefile) are imported; every such error says
    which imports were used."""
    c, _ = meta
    p = str(lean_project)
    # the fixture's lakefile declares no library: only Lean, and the error says so
    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.foo"}))
    assert e["code"] == "unknown_declaration"
    assert e["imports"] == ["Lean"] and e["imports_source"] == "given"
    assert "imports used: Lean" in e["message"]

    (lean_project / "lakefile.lean").write_text(
        "import Lake\nopen Lake DSL\n\npackage proj\n\n@[default_target]\nlean_lib Demo where\n"
        "  roots := #[`Demo.Basic]\n\nlean_lib Tests\n")
    r = call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.foo"})
    res = ok(r)
    assert res["module"] == "Demo.Basic"
    assert tool_body(r)["freshness"]["imports"] == ["Lean", "Demo.Basic"]
    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.nope"}))
    assert e["code"] == "unknown_declaration"
    assert e["imports"] == ["Lean", "Demo.Basic"] and e["imports_source"] == "default"
    assert "default import set" in e["message"]
    # given imports win, even an empty list
    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Demo.foo", "imports": []}))
    assert e["code"] == "unknown_declaration" and e["imports"] == ["Lean"] and e["imports_source"] == "given"
    # search uses the same default
    res = ok(call(c, "lean_declaration_search", {"project": p, "query": "foo_add"}))
    assert "Demo.foo_add" in [d["name"] for d in res["candidates"]], res
    # a default root that does not import: import_failed names the imports
    (lean_project / "lakefile.toml").write_text("")
    (lean_project / "lakefile.lean").write_text("import Lake\nopen Lake DSL\npackage proj\nlean_lib Missing.Lib\n")
    e = error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Nat.add"}))
    assert e["code"] == "import_failed" and e["imports"] == ["Lean", "Missing.Lib"], e


def test_declaration_search_ranking(meta, lean_project):
    c, _ = meta
    p = str(lean_project)
    res = ok(call(c, "lean_declaration_search", {"project": p, "query": "add"}))
    names = [x["name"] for x in res["candidates"]]
    # exact (full name or last component, case-insensitive) > prefix > substring, shorter first
    assert names[:3] == ["Add", "Nat.add", "List.add"]
    assert [x["match"] for x in res["candidates"][:3]] == ["exact"] * 3
    prefix = [x["name"] for x in res["candidates"] if x["match"] == "prefix"]
    assert prefix == ["Nat.add_comm", "Nat.add_zero", "Nat.add_assoc"]
    assert names.index("Nat.zero_add") > names.index("Nat.add_assoc")
    assert res["candidates"][-1]["match"] == "substring"

    res = ok(call(c, "lean_declaration_search", {"project": p, "query": "add", "max_results": 2}))
    assert [x["name"] for x in res["candidates"]] == ["Add", "Nat.add"] and res["truncated"] is True

    res = ok(call(c, "lean_declaration_search", {"project": p, "query": "comm", "type_pattern": "m * n"}))
    assert [x["name"] for x in res["candidates"]] == ["Nat.mul_comm"]

    # user text reaches Lean only inside a string literal
    res = ok(call(c, "lean_declaration_search", {"project": p, "query": "\")\n#exit\n"}))
    assert res["candidates"] == []


def test_proof_search(meta, lean_project):
    c, log = meta
    p = str(lean_project)
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "a + b = b + a"}))
    assert res["proved"] is True
    proofs = [x["proof"] for x in res["proofs"]]
    assert proofs[0] == "by omega"                  # shortest verified proof first
    assert "by simp only [Nat.add_comm]" in proofs  # the simp? suggestion, not "by simp?"
    assert [a["tactic"] for a in res["attempts"]] == ["exact?", "apply?", "simp?", "omega", "decide", "aesop",
                                                      "linarith", "norm_num"]
    statuses = {a["tactic"]: a["status"] for a in res["attempts"]}
    assert statuses["exact?"] == "failed" and statuses["apply?"] == "failed" and statuses["aesop"] == "failed"
    exact = next(a for a in res["attempts"] if a["tactic"] == "exact?")
    assert exact["errors"] == ["`exact?` could not close the goal. Try `apply?` to see partial suggestions."]
    assert res["budget_exhausted"] is False and res["untried"] == []

    # sorry is never a proof
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "theorem t (n : Nat) : n = n",
                                           "tactics": ["sorry", "rfl"]}))
    assert [x["tactic"] for x in res["proofs"]] == ["rfl"]
    assert res["attempts"][0]["status"] == "failed"

    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "False", "tactics": ["omega", "decide"]}))
    assert res["proved"] is False and res["proofs"] == []

    # the budget stops the portfolio between attempts; partial results flagged
    t0 = time.time()
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "1 = 1", "time_budget_ms": 500,
                                           "tactics": ["sleep 300", "sleep 300", "rfl", "sleep 300", "decide"]}))
    assert time.time() - t0 < 10
    assert res["budget_exhausted"] is True
    assert len(res["attempts"]) == 2 and res["untried"] == ["rfl", "sleep 300", "decide"]
    assert res["proved"] is False

    # no new command through goal or tactic
    for args in ({"goal": "True := trivial\ndef evil := 1"}, {"goal": "True", "tactics": ["trivial\n#exit"]},
                 {"goal": "True", "tactics": ["set_option maxHeartbeats 0 in decide"]}):
        n = log_lines(log).count("prove")
        e = error_of(call(c, "lean_proof_search", dict(project=p, **args)))
        assert e and e["code"] == "invalid_arguments"
        assert log_lines(log).count("prove") == n


def test_proof_search_recorded_suggestions(meta, lean_project):
    """exact? answered with the RECORDED v4.33 replies (Mathlib/exact and
    root_goals.expected.out: "Try this:\n  [apply] exact …"): the proof is
    the suggestion, not "by exact?"."""
    c, _ = meta
    p = str(lean_project)
    for goal, want in (("0 < 1", "exact Nat.one_pos"), ("1 = 1", "exact Nat.zero_eq_one_mod_iff.mp rfl")):
        res = ok(call(c, "lean_proof_search", {"project": p, "goal": goal, "tactics": ["exact?"]}))
        assert res["proved"] is True, res
        assert res["proofs"] == [{"tactic": "exact?", "proof": "by " + want, "suggestion": want}]
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "0 < 1", "tactics": ["apply?", "decide"]}))
    assert [x["proof"] for x in res["proofs"]] == ["by decide", "by exact Nat.one_pos"]


def test_proof_search_user_text_layout(meta, lean_project):
    """The goal never shares a line with the generated ":= by"; a goal
    written as bare binders is a signature."""
    c, _ = meta
    p = str(lean_project)
    # the goal's trailing comment cannot swallow ":= by": no "proof" by trivial
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "True := trivial --", "tactics": ["-- x"]}))
    assert res["proved"] is False and res["proofs"] == []
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "(a b : Nat) : a + b = b + a",
                                           "tactics": ["omega"]}))
    assert res["proved"] is True, res["attempts"]
    # a script of several tactics stays under `by`
    res = ok(call(c, "lean_proof_search", {"project": p, "goal": "True ∧ True",
                                           "tactics": ["constructor\ntrivial\ntrivial"]}))
    assert res["proofs"] == [{"tactic": "constructor\ntrivial\ntrivial",
                              "proof": "by\n  constructor\n  trivial\n  trivial"}]


def test_clean_exit_after_all_tools(start_daemon, lean_project, tmp_path):
    """Every tool once (hit, miss, error paths), then SIGTERM: a clean exit
    (under ASan/LSan this also catches leaks in the handlers)."""
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": os.path.realpath(META_DOUBLE)})
    p = str(lean_project)
    with d.client() as c:
        c.initialize()
        q = {"project": p, "module": "Demo.Basic", "selectors": {"include_type": True}, "budgets": {"max_chars": 80}}
        ok(call(c, "lean_module_query", q))
        assert ok(call(c, "lean_module_query", q))["cached"] is True
        ok(call(c, "lean_module_query_batch", {"project": p, "items": [{"module": "Demo.Basic"}, {"module": "x y"}]}))
        ok(call(c, "lean_module_query_batch", {"project": p, "items": [{"module": "Missing.X"}, {"module": "x y"}]}))
        error_of(call(c, "lean_module_query", {"project": p, "module": "Missing.X"}))
        ok(call(c, "lean_declaration_inspect", {"project": p, "name": "Nat.add_comm", "include_value": True}))
        error_of(call(c, "lean_declaration_inspect", {"project": p, "name": "Nope"}))
        ok(call(c, "lean_declaration_search", {"project": p, "query": "comm", "type_pattern": "n"}))
        ok(call(c, "lean_proof_search", {"project": p, "goal": "a + b = b + a"}))
        error_of(call(c, "lean_proof_search", {"project": p, "goal": "True", "tactics": ["#exit"]}))
    assert d.stop() == 0, d.log()[-4000:]
    log = d.log()
    assert "Sanitizer" not in log and "runtime error" not in log, log[-4000:]
