# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tool arguments end to end: the argument tables (src/tools/tool-*.c) are the
schemas in tools/list and the rules tools/call enforces; a broken rule is a
tool result with isError and code invalid_arguments naming the argument;
deprecated spellings (goal, budgets) still work; the project path is absolute
or ~-relative; an initialize with a version we do not speak is logged."""

import os

import pytest

from conftest import error_of, tool_body

HERE = os.path.dirname(os.path.abspath(__file__))
META_DOUBLE = os.path.join(HERE, "..", "double", "lean-repl-meta")
LONG = 120


@pytest.fixture
def meta(start_daemon, tmp_path):
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": os.path.realpath(META_DOUBLE),
                          "LEAN_META_LOG": str(tmp_path / "meta.log")})
    with d.client() as c:
        c.initialize()
        yield c


def schemas(c):
    return {t["name"]: t["inputSchema"] for t in c.request("tools/list")["result"]["tools"]}


def invalid(result, *parts):
    err = error_of(result)
    assert err and err["code"] == "invalid_arguments" and err["retryable"] is False, tool_body(result)
    for p in parts:
        assert p in err["message"], err
    return err


def ok(result):
    assert not result.get("isError"), tool_body(result)
    return tool_body(result)["result"]


def test_argument_errors_are_tool_errors(client, lean_project):
    p = str(lean_project)
    # the JSON-RPC answer is a result: the model reads it and can fix the call
    invalid(client.call_tool("lean_run", {"project": p}), "arguments.code", "required property missing")
    invalid(client.call_tool("lean_run", {"project": 5, "code": "x"}), "arguments.project", "expected string")
    invalid(client.call_tool("lean_run", {"project": p, "code": "x", "bogus": 1}), "arguments.bogus",
            "unknown property")
    invalid(client.call_tool("lean_declaration_search", {"project": p, "query": "x", "max_results": 0}),
            "arguments.max_results", ">= 1")
    # an enum of a nested row (selectors.kinds): the table's values, nothing else
    invalid(client.call_tool("lean_module_query", {"project": p, "module": "M", "selectors": {"kinds": ["lemma"]}}),
            "arguments.selectors.kinds[0]", "must be one of def, theorem")
    # an unknown tool stays a protocol error (MCP: "Unknown tools")
    r = client.request("tools/call", {"name": "no_such_tool", "arguments": {}})
    assert r["error"]["code"] == -32602, r


def test_verify_name_required(client, lean_project):
    s = schemas(client)
    assert "name" in s["lean_declaration_verify"]["required"]
    invalid(client.call_tool("lean_declaration_verify", {"project": str(lean_project), "code": "theorem t : True := trivial"}),
            "arguments.name", "required")


def test_statement_and_goal(meta, lean_project):
    c = meta
    p = str(lean_project)
    s = schemas(c)["lean_proof_search"]
    assert "statement" in s["properties"] and "Deprecated" in s["properties"]["goal"]["description"]
    assert s["required"] == ["project"]  # statement or goal: the table's rule
    # the new spelling, the old one, the same answer
    new = ok(c.call_tool("lean_proof_search", {"project": p, "statement": "a + b = b + a"}, timeout=LONG))
    old = ok(c.call_tool("lean_proof_search", {"project": p, "goal": "a + b = b + a"}, timeout=LONG))
    assert new["proved"] is True and [x["proof"] for x in new["proofs"]] == [x["proof"] for x in old["proofs"]]
    invalid(c.call_tool("lean_proof_search", {"project": p}), "arguments.statement", "goal")
    invalid(c.call_tool("lean_proof_search", {"project": p, "statement": "True", "goal": "True"}), "not both")


def test_max_results_and_budgets(meta, lean_project):
    c = meta
    p = str(lean_project)
    s = schemas(c)["lean_module_query"]["properties"]
    assert "max_results" in s and "max_chars" in s and "Deprecated" in s["budgets"]["description"]
    new = ok(c.call_tool("lean_module_query", {"project": p, "module": "Demo.Basic", "max_results": 3}, timeout=LONG))
    assert new["returned"] == 3 and new["truncated_by"] == "max_items"
    old = ok(c.call_tool("lean_module_query", {"project": p, "module": "Demo.Basic", "budgets": {"max_items": 3}},
                         timeout=LONG))
    assert old["returned"] == 3
    # the new spelling wins over the old one
    both = ok(c.call_tool("lean_module_query", {"project": p, "module": "Demo.Basic", "max_results": 2,
                                                "budgets": {"max_items": 5}}, timeout=LONG))
    assert both["returned"] == 2
    batch = ok(c.call_tool("lean_module_query_batch", {"project": p, "items": [
        {"module": "Demo.Basic", "max_results": 1}]}, timeout=LONG))
    assert batch["items"][0]["result"]["returned"] == 1


def test_project_path_relative_and_home(start_daemon, tmp_path):
    d = start_daemon()
    home = d.env["HOME"]
    proj = os.path.join(home, "work", "proj")
    os.makedirs(proj)
    with open(os.path.join(proj, "lakefile.lean"), "w") as f:
        f.write("import Lake\nopen Lake DSL\n\npackage proj\n")
    # the daemon's cwd holds a project of the same relative name: still refused
    os.makedirs(tmp_path / "work" / "proj", exist_ok=True)
    (tmp_path / "work" / "proj" / "lakefile.lean").write_text("import Lake\n")
    with d.client() as c:
        c.initialize()
        err = invalid(c.call_tool("lean_project_status", {"project": "work/proj"}), "work/proj", "absolute path")
        assert "project_not_found" not in err["message"]
        r = c.call_tool("lean_project_status", {"project": "~/work/proj"})
        assert not r.get("isError"), tool_body(r)
        assert tool_body(r)["project"]["root"] == os.path.realpath(proj)
        r = c.call_tool("lean_project_status", {"project": "~/work/proj/lakefile.lean"})
        assert tool_body(r)["project"]["root"] == os.path.realpath(proj)
        # ~user is not ours to expand
        invalid(c.call_tool("lean_project_status", {"project": "~root/x"}), "absolute path")


def test_old_protocol_version_is_logged(daemon):
    with daemon.client() as c:
        r = c.request("initialize", {"protocolVersion": "2024-11-05", "capabilities": {},
                                     "clientInfo": {"name": "old-client", "version": "1"}})
        # the spec: answer with a version we speak; the client decides
        assert r["result"]["protocolVersion"] == "2025-06-18"
    log = daemon.log()
    assert "client old-client asked for MCP protocol version 2024-11-05" in log, log[-2000:]
    with daemon.client() as c:
        c.initialize()
    assert daemon.log().count("asked for MCP protocol version") == 1
