# SPDX-License-Identifier: LGPL-2.1-or-later
"""User text cannot become a Lean command of its own, end to end: every
argument of the Lean tools that is placed into generated Lean (statement,
proof, tactic, goal, tactics) is tried with text holding a command
(`theorem evil …`); the call must be refused with invalid_arguments and the
text must never reach the worker.

The worker is a RECORDING stub written by this file: it logs every request
verbatim and answers with SYNTHETIC replies ({"env": n}, no messages). It
does not pretend to be Lean; what these tests check is only what the daemon
sends. Whether Lean would really have run the injected command is not
checked here (no Lean on the machine where this was written): the cases come
from how Lean 4's tokenizer and parse-error recovery work (see
src/lean/commands.h).

The SUBTLE cases were gaps of the first, line-based checkers
(query-text.c, proof-text.c); both now also run src/lean/commands.c's
token-level check, so every case must be refused at every place."""

import json
import os
import stat

import pytest

from conftest import error_of, tool_body

LONG = 60
MARK = "evil_lh_marker"

RECORDER = r'''#!/usr/bin/python3
# SYNTHETIC recording worker (tests/integration/test_lean_tools.py): logs
# each request, answers {"env": n} / {"proofState": n, "goals": []}.
import json, os, sys
log = os.environ["LEAN_TOOLS_RECORD"]
n = 0
pending = []
def answer(raw):
    global n
    with open(log, "a") as f:
        f.write(json.dumps(raw) + "\n")
    try:
        req = json.loads(raw)
    except ValueError as e:
        out = {"message": "Could not parse JSON:\n%s" % e}
    else:
        if "tactic" in req:
            out = {"proofState": n, "goals": [], "_synthetic": True}
        else:
            out = {"env": n, "_synthetic": True}
        n += 1
    sys.stdout.write(json.dumps(out) + "\n\n")
    sys.stdout.flush()
for line in sys.stdin:
    if line.strip() == "":
        if pending:
            answer("".join(pending))
            pending = []
        continue
    pending.append(line)
if pending:
    answer("".join(pending))
'''


@pytest.fixture
def rec(start_daemon, tmp_path):
    worker = tmp_path / "recording-worker"
    worker.write_text(RECORDER)
    worker.chmod(worker.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "record.log"
    log.write_text("")
    d = start_daemon(env={"LEAN_HOST_MCP_WORKER_COMMAND": str(worker), "LEAN_TOOLS_RECORD": str(log)})
    with d.client() as c:
        c.initialize()
        yield c, log


def sent(log):
    """The requests the worker got, parsed ({"raw": text} when not JSON)."""
    out = []
    for line in log.read_text().splitlines():
        if line.strip():
            raw = json.loads(line)
            try:
                out.append(json.loads(raw))
            except ValueError:
                out.append({"raw": raw})
    return out


# Where user text goes: (tool, arguments with TEXT in the place under test).
PLACES = {
    "attempt.statement": ("lean_proof_attempt", {"statement": "TEXT", "proof": "trivial"}),
    "attempt.proof": ("lean_proof_attempt", {"statement": "True", "proof": "TEXT"}),
    "search.goal": ("lean_proof_search", {"goal": "TEXT", "tactics": ["trivial"]}),
    "search.tactic": ("lean_proof_search", {"goal": "True", "tactics": ["TEXT"]}),
}

# Refused by every checker today.
BASIC = {
    "newline-theorem": "True\ntheorem " + MARK + " : False := sorry",
    "newline-import": "True\nimport " + MARK,
    "end": "True\nend " + MARK,
    "hash-eval": "True\n#eval \"" + MARK + "\"",
    "attribute-decl": "True\n@[simp] lemma " + MARK + " : True := trivial",
    "axiom": "True\naxiom " + MARK + " : False",
    "unterminated-comment": "True /- " + MARK,
}

# Refused by src/lean/commands.c; (case → places where today's checker lets it through).
SUBTLE = {
    "dotdot-keyword": ("Nat..theorem " + MARK + " : False := sorry", set(PLACES)),
    "operator-glued": ("True ∧theorem " + MARK + " : False := sorry", set(PLACES)),
    "number-glued": ("1theorem " + MARK + " : False := sorry", set(PLACES)),
    "char-literal-quote": ("x = '\"'\ntheorem " + MARK + " : False := sorry\n-- \"",
                           {"attempt.statement", "attempt.proof"}),
    "run_cmd": ("True\nrun_cmd Lean.logInfo \"" + MARK + "\"", {"attempt.statement", "attempt.proof"}),
    "unif_hint": ("True\nunif_hint " + MARK + " (n : Nat) where n =?= 0 |- n + 0 =?= 0", set(PLACES)),
}


def place(where, text):
    tool, args = PLACES[where]
    args = json.loads(json.dumps(args).replace('"TEXT"', json.dumps(text)))
    return tool, args


def check_refused(c, log, project, where, text):
    tool, args = place(where, text)
    res = c.call_tool(tool, dict(project=str(project), **args), timeout=LONG)
    reached = [r for r in sent(log) if MARK in json.dumps(r, ensure_ascii=False)]
    assert not reached, "injected text reached the worker via %s: %s" % (where, reached)
    assert res.get("isError"), "accepted: %s" % tool_body(res)
    assert error_of(res)["code"] == "invalid_arguments", tool_body(res)


def test_recorder_sees_ordinary_text(rec, lean_project):
    """The control: ordinary text does reach the recording worker, so the
    refusal checks below are not vacuous."""
    c, log = rec
    res = c.call_tool("lean_proof_attempt",
                      {"project": str(lean_project), "statement": "∀ n : Nat, n + 0 = n",
                       "proof": "by\n  intro n\n  rfl -- " + MARK},
                      timeout=LONG)
    assert not res.get("isError"), tool_body(res)
    cmds = [r.get("cmd", "") for r in sent(log)]
    assert any(MARK in cmd and "∀ n : Nat, n + 0 = n" in cmd for cmd in cmds), cmds


@pytest.mark.parametrize("where", sorted(PLACES))
@pytest.mark.parametrize("case", sorted(BASIC))
def test_basic_injection_refused(rec, lean_project, where, case):
    c, log = rec
    check_refused(c, log, lean_project, where, BASIC[case])


@pytest.mark.parametrize("where", sorted(PLACES))
@pytest.mark.parametrize("case", sorted(SUBTLE))
def test_subtle_injection_refused(rec, lean_project, where, case):
    text, _ = SUBTLE[case]
    c, log = rec
    check_refused(c, log, lean_project, where, text)


def test_names_placed_bare_are_single_identifiers(rec, lean_project):
    """lean_declaration_verify places its name bare after `#print axioms`."""
    c, log = rec
    for name in ["Nat.add\ntheorem " + MARK, "x --" + MARK, "a " + MARK]:
        res = c.call_tool("lean_declaration_verify", {"project": str(lean_project), "name": name}, timeout=LONG)
        assert res.get("isError"), tool_body(res)
        assert error_of(res)["code"] == "invalid_arguments", tool_body(res)
    assert not [r for r in sent(log) if MARK in json.dumps(r, ensure_ascii=False)]
