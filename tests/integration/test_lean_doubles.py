# SPDX-License-Identifier: LGPL-2.1-or-later
"""The test doubles speak real Lean: every reply each double in tests/double
can send is checked against the reply shapes of the recorded REPL
transcripts (tests/fixtures/lean-repl, leanprover-community/repl on Lean
v4.33.0-rc2), so a double that answers in an invented format fails here.

The catalogue of shapes is built from the recordings themselves: per reply
kind (command, tactic, REPL error) the members that always occur, the ones
that may, their JSON types; the member sets of messages and sorries;
severities; proofStatus values; the REPL's own error texts. A few rules the
recordings alone cannot show come from the REPL's source (REPL/JSON.lean,
REPL/Main.lean at the fixtures' commit 8948401), each named where used.

Each double is driven through every kind of reply it has (its branches),
directly over its stdin/stdout (no daemon)."""

import glob
import json
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.environ.get("LEAN_REPL_FIXTURES") or os.path.join(SOURCE_ROOT, "tests", "fixtures", "lean-repl")
DOUBLES = os.path.join(SOURCE_ROOT, "tests", "double")

# Members a double may add that the daemon does not interpret: the marker of
# a synthetic reply (lean-repl-transcript) and a test directive's answer
# (lean-repl-double `-- @double pid`).
MARKERS = {"_synthetic", "double_pid"}

# REPL/Main.lean: the texts of the REPL's own errors besides the recorded
# ones ("Lean error:\n" + a Lean exception is recorded).
# REPL/Main.lean processFile: an unreadable file is `.inr ⟨e.toString⟩` of
# Lean's IO.Error, whose text for ENOENT is "no such file or directory
# (error code: 2)\n  file: PATH".
SOURCE_ERROR_PREFIXES = ("Could not parse JSON:\n", "Could not parse as a valid JSON command:\n",
                         "no such file or directory (error code: 2)\n  file: ")


def split_json_stream(text):
    out, cur = [], []
    for line in text.splitlines():
        if not line.strip():
            if cur:
                out.append(json.loads("\n".join(cur)))
                cur = []
            continue
        cur.append(line)
    if cur:
        out.append(json.loads("\n".join(cur)))
    return out


def recorded_replies():
    paths = sorted(glob.glob(os.path.join(FIXTURES, "*.expected.out")) +
                   glob.glob(os.path.join(FIXTURES, "Mathlib", "*.expected.out")))
    out = []
    for p in paths:
        with open(p) as f:
            out += [(os.path.relpath(p, FIXTURES), r) for r in split_json_stream(f.read())]
    return out


def kind_of(reply):
    if "message" in reply:
        return "error"
    if "proofStatus" in reply:
        return "tactic"
    return "command"


def jtype(v):
    return {bool: "bool", int: "int", str: "str", list: "list", dict: "object", type(None): "null"}[type(v)]


class Catalogue:
    """What the recorded replies look like."""

    def __init__(self, replies):
        assert replies, "no recorded transcripts under " + FIXTURES
        self.keys = {}          # kind -> [set of members of each reply]
        self.types = {}         # (kind, member) -> {json types}
        self.message_keys = set()
        self.severities = set()
        self.sorry_keys = {}    # kind -> {frozenset of members}
        self.statuses = set()
        self.errors = set()
        self.tactic_keys = set()  # members of the allTactics records (REPL/JSON.lean Tactic)
        for _, r in replies:
            k = kind_of(r)
            self.keys.setdefault(k, []).append(set(r))
            for m, v in r.items():
                self.types.setdefault((k, m), set()).add(jtype(v))
            for msg in r.get("messages", []):
                self.message_keys |= set(msg)
                self.severities.add(msg["severity"])
            for s in r.get("sorries", []):
                self.sorry_keys.setdefault(k, set()).add(frozenset(s))
            for t in r.get("tactics", []):
                self.tactic_keys.add(frozenset(t))
            if "proofStatus" in r:
                self.statuses.add(r["proofStatus"])
            if k == "error":
                self.errors.add(r["message"])

    def required(self, kind):
        return set.intersection(*self.keys[kind])

    def allowed(self, kind):
        return set.union(*self.keys[kind])

    def check(self, reply):
        """A list of what in reply no recorded reply has (empty: fine)."""
        bad = []
        if not isinstance(reply, dict):
            return ["not a JSON object"]
        k = kind_of(reply)
        members = set(reply) - MARKERS
        if k not in self.keys:
            return ["a %s reply, which no transcript records" % k]
        if self.required(k) - members:
            bad.append("%s reply without %s" % (k, sorted(self.required(k) - members)))
        if members - self.allowed(k):
            bad.append("%s reply with unrecorded members %s" % (k, sorted(members - self.allowed(k))))
        for m in members & self.allowed(k):
            if jtype(reply[m]) not in self.types[(k, m)]:
                bad.append("%s.%s is %s, recorded: %s" % (k, m, jtype(reply[m]), sorted(self.types[(k, m)])))
        for m in ("messages", "sorries", "tactics", "traces"):
            # REPL/JSON.lean Json.nonemptyList: these lists are never sent empty
            if reply.get(m) == []:
                bad.append("empty %s list (the REPL leaves it out)" % m)
        if k == "error":
            text = reply.get("message")
            if not isinstance(text, str) or not (
                    text in self.errors or text.startswith("Lean error:\n") or text.startswith(SOURCE_ERROR_PREFIXES)):
                bad.append("REPL error text not the REPL's: %r" % (text,))
        if "proofStatus" in reply and reply["proofStatus"] not in self.statuses:
            bad.append("proofStatus %r never recorded" % reply["proofStatus"])
        for g in reply.get("goals", []) if isinstance(reply.get("goals"), list) else []:
            if not isinstance(g, str):
                bad.append("a goal that is not a string")
        for msg in reply.get("messages", []) if isinstance(reply.get("messages"), list) else []:
            bad += self.check_message(msg)
        for s in reply.get("sorries", []) if isinstance(reply.get("sorries"), list) else []:
            bad += self.check_sorry(k, s)
        for t in reply.get("tactics", []) if isinstance(reply.get("tactics"), list) else []:
            bad += self.check_tactic(t)
        return bad

    def check_tactic(self, t):
        if not isinstance(t, dict) or frozenset(t) not in self.tactic_keys:
            return ["tactic record %r, recorded members: %s" % (t, [sorted(x) for x in self.tactic_keys])]
        bad = self.check_pos("tactic pos", t["pos"]) + self.check_pos("tactic endPos", t["endPos"])
        if not (isinstance(t["tactic"], str) and isinstance(t["goals"], str)):
            bad.append("tactic/goals not strings")
        if not (isinstance(t["usedConstants"], list) and all(isinstance(c, str) for c in t["usedConstants"])):
            bad.append("usedConstants not a list of names")
        return bad

    @staticmethod
    def check_pos(what, p):
        if not (isinstance(p, dict) and set(p) == {"line", "column"} and
                all(isinstance(p[x], int) and p[x] >= 0 for x in p)):
            return ["%s is not {line, column}: %r" % (what, p)]
        return []

    def check_message(self, msg):
        bad = []
        if not isinstance(msg, dict):
            return ["a message that is not an object"]
        # REPL/JSON.lean Message: pos, severity, data always; endPos : Option Pos
        required = self.message_keys - {"endPos"}
        if required - set(msg) or set(msg) - self.message_keys:
            bad.append("message members %s, recorded: %s" % (sorted(msg), sorted(self.message_keys)))
        if msg.get("severity") not in self.severities:
            bad.append("severity %r never recorded" % msg.get("severity"))
        data = msg.get("data")
        if not isinstance(data, str):
            bad.append("message data is not a string")
        elif data != data.strip(" \t\n\r"):
            # REPL/JSON.lean Message.of: data := (← m.data.toString).trimAscii
            bad.append("message data with leading/trailing whitespace (the REPL trims it): %r" % data[-20:])
        for p in ("pos", "endPos"):
            if p in msg:
                bad += self.check_pos("message " + p, msg[p])
        return bad

    def check_sorry(self, kind, s):
        if not isinstance(s, dict):
            return ["a sorry that is not an object"]
        bad = []
        if frozenset(s) not in self.sorry_keys.get(kind, set()):
            bad.append("%s sorry members %s, recorded: %s" % (kind, sorted(s),
                                                              [sorted(x) for x in self.sorry_keys.get(kind, [])]))
        if not isinstance(s.get("goal"), str):
            bad.append("sorry goal is not a string")
        for p in ("pos", "endPos"):
            if p in s:
                bad += self.check_pos("sorry " + p, s[p])
                # REPL/JSON.lean ToJson Sorry: a position on line 0 is left out
                if isinstance(s[p], dict) and s[p].get("line") == 0:
                    bad.append("sorry %s on line 0 (the REPL leaves it out)" % p)
        return bad


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue(recorded_replies())


class Double:
    """One double process, one request at a time."""

    def __init__(self, name, env=None, cwd=None):
        e = dict(os.environ, LEAN_REPL_FIXTURES=FIXTURES)
        e.update(env or {})
        self.p = subprocess.Popen([os.path.join(DOUBLES, name)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, encoding="utf-8", env=e, cwd=cwd)
        self.replies = []

    def send(self, req):
        self.p.stdin.write(json.dumps(req, ensure_ascii=False) + "\n\n")
        self.p.stdin.flush()
        lines = []
        while True:
            line = self.p.stdout.readline()
            assert line, "the double closed its output after %r" % (req,)
            if not line.strip():
                if lines:
                    break
                continue
            lines.append(line)
        reply = json.loads("".join(lines))
        self.replies.append((req, reply))
        return reply

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def assert_all_recorded_shapes(catalogue, double):
    problems = []
    for req, reply in double.replies:
        for b in catalogue.check(reply):
            problems.append("%s\n    request %s\n    reply   %s" % (b, json.dumps(req, ensure_ascii=False)[:200],
                                                                  json.dumps(reply, ensure_ascii=False)[:300]))
    assert not problems, "replies in no recorded shape:\n" + "\n".join(problems)


# ------------------------------------------------------------------ the catalogue itself


def test_recorded_replies_pass(catalogue):
    """The checker accepts every recorded reply (it is not stricter than Lean)."""
    for where, r in recorded_replies():
        assert catalogue.check(r) == [], (where, r)


def test_invented_shapes_fail(catalogue):
    """Shapes the doubles used to invent are refused."""
    info = {"severity": "info", "pos": {"line": 2, "column": 0}, "endPos": {"line": 2, "column": 5}}
    assert catalogue.check({"messages": [dict(info, data="@lh:end {}\n")], "env": 1})      # untrimmed data
    assert catalogue.check({"proofState": 3, "goals": []})                                 # no proofStatus
    assert catalogue.check({"proofStatus": "Done", "proofState": 3, "goals": []})          # unknown status
    assert catalogue.check({"sorries": [{"proofState": 1, "goal": "⊢ Nat", "pos": {"line": 0, "column": 0},
                                         "endPos": {"line": 0, "column": 5}}],
                            "proofStatus": "Incomplete: contains sorry", "proofState": 2, "goals": []})
    assert catalogue.check({"message": "synthetic double: only commands are supported"})
    assert catalogue.check({"messages": [], "env": 0})
    assert catalogue.check({"messages": [dict(info, severity="information", data="x")], "env": 0})
    assert catalogue.check({"env": "0"})
    assert catalogue.check({"result": 1, "env": 0})
    tac = {"usedConstants": [], "tactic": "rfl", "proofState": 0, "goals": "⊢ True",
           "pos": {"line": 1, "column": 0}, "endPos": {"line": 1, "column": 3}}
    assert not catalogue.check({"tactics": [tac], "env": 0})
    assert catalogue.check({"tactics": [dict(tac, goalsAfter=[])], "env": 0})         # infotree member
    assert catalogue.check({"tactics": [dict(tac, goals=["⊢ True"])], "env": 0})      # goals is one string
    assert catalogue.check({"message": "file not found: x.lean"})


# ------------------------------------------------------------------ each double, every branch


def test_lean_repl_double(catalogue, tmp_path):
    d = Double("lean-repl-double")
    try:
        d.send({"cmd": "def f : Nat := by sorry"})
        d.send({"cmd": "theorem t : True := trivial", "env": 0})
        d.send({"cmd": "import Missing.Foo\n"})
        d.send({"cmd": "def g := 1\n-- @double error boom", "env": 0})
        d.send({"cmd": "def g2 := 1\n-- @double errors 3 boom", "env": 0})
        d.send({"cmd": "def h := 1\n-- @double pid", "env": 0})
        d.send({"tactic": "exact 1", "proofState": 0})
        d.send({"tactic": "intro x", "proofState": 0})
        d.send({"tactic": "sorry", "proofState": 0})
        r = d.send({"tactic": "constructor\ntrivial", "proofState": 0})
        assert r == {"message": "Lean error:\n<input>:2:0: expected end of input"}
        r = d.send({"tactic": "(\n  constructor\n  trivial\n)", "proofState": 0})
        assert "proofStatus" in r
        d.send({"cmd": "x", "env": 99})
        d.send({"tactic": "rfl", "proofState": 99})
        d.send({"pickleTo": str(tmp_path / "e.olean"), "env": 0})
        d.send({"unpickleEnvFrom": str(tmp_path / "e.olean")})
        d.send({"pickleTo": str(tmp_path / "p.olean"), "proofState": 0})
        d.send({"unpickleProofStateFrom": str(tmp_path / "p.olean")})
        d.send({"pickleTo": str(tmp_path / "p.olean"), "env": 99})
        d.send(["not", "a", "command"])
        d.send({"neither": 1})
    finally:
        d.close()
    assert_all_recorded_shapes(catalogue, d)


def test_lean_repl_transcript(catalogue):
    d = Double("lean-repl-transcript", {"LEAN_REPL_TRANSCRIPT_INPUTS": FIXTURES})
    try:
        # recorded (proof_step.in)
        r = d.send({"cmd": "def f : Nat := by sorry"})
        assert "_synthetic" not in r and r["sorries"][0]["goal"] == "⊢ Nat"
        d.send({"tactic": "apply Int.natAbs", "proofState": r["sorries"][0]["proofState"]})
        # synthetic: the daemon's attempt command (lean/proof-text.c layout) and #print axioms
        d.send({"cmd": "import Lean"})
        d.send({"cmd": "theorem _lean_host_attempt :\nTrue\n  :=\nby sorry", "env": 0})
        d.send({"cmd": "theorem _lean_host_attempt :\nTrue\n  :=\nby fail_goal", "env": 0})
        d.send({"cmd": "theorem _lean_host_attempt\n(n : Nat) : n = n\n  :=\nby rfl", "env": 0})
        d.send({"cmd": "theorem x : bogus_ident = 1 := rfl", "env": 0})
        e = d.send({"cmd": "axiom ax : False\ntheorem uses : False := ax", "env": 0})["env"]
        d.send({"cmd": "#print axioms uses", "env": e})
        d.send({"cmd": "#print axioms Nat.add_comm", "env": 0})
        d.send({"cmd": "#print axioms nowhere", "env": 0})
        s = d.send({"cmd": "theorem _lean_host_attempt :\n∀ n : Nat, n = n\n  :=\nby sorry", "env": 0})
        s = s["sorries"][0]["proofState"]
        d.send({"tactic": "intro n", "proofState": s})
        d.send({"tactic": "rfl", "proofState": s})
        d.send({"tactic": "sorry", "proofState": s})
        d.send({"tactic": "no_such_tactic", "proofState": s})
        r = d.send({"tactic": "constructor\ntrivial\ntrivial", "proofState": s})
        assert r["message"] == "Lean error:\n<input>:2:0: expected end of input"
        r = d.send({"tactic": "(\n  constructor\n  trivial\n  trivial\n)", "proofState": s})
        assert r["proofStatus"] == "Completed"
        d.send({"cmd": "x", "env": 99})
        d.send({"tactic": "rfl", "proofState": 99})
    finally:
        d.close()
    assert_all_recorded_shapes(catalogue, d)


def test_lean_repl_transcript_file_mode(catalogue, tmp_path):
    """File mode: the recorded path commands with the recorded sources give
    the recorded replies; other files and missing ones the REPL's shapes."""
    (tmp_path / "test").mkdir()
    for n in ("file", "file2", "file_env"):
        with open(os.path.join(FIXTURES, n + ".lean")) as src:
            (tmp_path / "test" / (n + ".lean")).write_text(src.read())
    (tmp_path / "test" / "changed.lean").write_text("theorem t : 1 = 1 := by sorry\n")
    d = Double("lean-repl-transcript", {"LEAN_REPL_TRANSCRIPT_INPUTS": FIXTURES}, cwd=str(tmp_path))
    try:
        r = d.send({"path": "test/file.lean", "allTactics": True})
        assert "_synthetic" not in r
        t = r["tactics"][0]
        assert (t["tactic"], t["goals"], t["pos"], t["endPos"]) == \
            ("exact rfl", "⊢ f + g = 39", {"line": 5, "column": 29}, {"line": 5, "column": 38})
        # the recorded tactic's proof state runs tactics (synthetic rules)
        assert d.send({"tactic": "rfl", "proofState": t["proofState"]})["proofStatus"] == "Completed"
        d.send({"tactic": "no_such_tactic", "proofState": t["proofState"]})
        r = d.send({"path": "test/file2.lean", "allTactics": True})
        assert r["tactics"][0]["tactic"] == "rw [Nat.add_assoc, Nat.add_comm y, h1]"
        # file_env.in: the path command on a recorded env
        e = d.send({"cmd": "def f : Nat := 1"})["env"]
        e = d.send({"cmd": "theorem demo (a b: Nat): a + b = b + a := by rw [Nat.add_comm]", "env": e})["env"]
        r = d.send({"path": "test/file_env.lean", "env": e})
        assert [m["data"] for m in r["messages"]] == ["demo (a b : Nat) : a + b = b + a", "f : Nat"]
        # a recorded path whose content differs is not the recording
        (tmp_path / "test" / "file.lean").write_text("theorem h : 1 = 1 := by sorry\n")
        r = d.send({"path": "test/file.lean", "allTactics": True})
        assert "_synthetic" in r and "tactics" not in r
        d.send({"path": "test/changed.lean", "allTactics": True})
        r = d.send({"path": "test/nope.lean", "allTactics": True})
        assert r == {"message": "no such file or directory (error code: 2)\n  file: test/nope.lean"}
        d.send({"path": "test/file2.lean", "env": 99})
    finally:
        d.close()
    assert_all_recorded_shapes(catalogue, d)


def test_lean_repl_meta(catalogue):
    """Synthetic answers to the daemon's meta programs (lean/query-text.c):
    their envelope is the recorded one (#eval/#check output: one info
    message at the command token, its data the printed text, trimmed)."""
    from_query_text = {
        "module": "open Lean Meta in\n#eval show MetaM Unit from do\n  let env ← getEnv\n"
                  "  let mod := String.toName \"Demo.Basic\"\n  let some idx := env.getModuleIdx? mod\n",
        "missing": "open Lean Meta in\n#eval show MetaM Unit from do\n  let mod := String.toName \"Demo.Empty\"\n"
                   "  let some idx := env.getModuleIdx? mod\n",
        "inspect": "open Lean Meta in\n#eval show MetaM Unit from do\n  let n := String.toName \"Demo.foo\"\n"
                   "  if true then\n      fields := fields ++ [(\"value\", toJson (s.take 20))]\n"
                   "  let axs ← collectAxioms n\n",
        "unknown": "open Lean Meta in\n#eval show MetaM Unit from do\n  let n := String.toName \"Nope\"\n"
                   "  let axs ← collectAxioms n\n",
        "search": "open Lean Meta in\n#eval show MetaM Unit from do\n  let frag := (\"add\").toLower\n"
                  "  let tfrag : Option String := (none).map String.toLower\n  let limit := 5\n"
                  "  let (good, rest) := env.constants.fold (fun acc n _ => acc) (#[], #[])\n",
    }
    d = Double("lean-repl-meta")
    try:
        env = d.send({"cmd": "import Lean\nimport Demo.Basic"})["env"]
        d.send({"cmd": "import Lean\nimport Missing.Mod"})
        for text in from_query_text.values():
            r = d.send({"cmd": text, "env": env})
            m = r["messages"][0]
            assert m["severity"] == "info" and m["pos"] == {"line": 2, "column": 0}
            assert m["endPos"] == {"line": 2, "column": len("#eval")}
        r = d.send({"cmd": "import Lean\nimport Demo.Basic\n" + from_query_text["module"]})
        assert r["messages"][0]["pos"]["line"] == 4
        for goal in ("0 < 1", "1 = 1", "a + b = b + a", "False"):
            for tactic in ("exact?", "apply?", "simp?", "omega", "decide", "rfl", "sorry", "aesop", "sleep 1"):
                d.send({"cmd": "theorem _lh_search :\n%s\n:= by\n  %s" % (goal, tactic), "env": env})
        d.send({"cmd": "theorem _lh_search\n(a b : Nat) : a + b = b + a\n:= by\n  omega", "env": env})
        d.send({"cmd": "def other := 1", "env": env})
        d.send({"cmd": "x", "env": 99})
        d.send({"tactic": "rfl", "proofState": 0})
    finally:
        d.close()
    assert_all_recorded_shapes(catalogue, d)


def test_meta_try_this_is_recorded():
    """lean-repl-meta's exact? answers carry the recorded message text."""
    recorded = {json.dumps(m["data"]) for _, r in recorded_replies() for m in r.get("messages", [])
                if m["data"].startswith("Try this")}
    assert recorded
    d = Double("lean-repl-meta")
    try:
        env = d.send({"cmd": "import Lean"})["env"]
        for goal in ("0 < 1", "1 = 1"):
            r = d.send({"cmd": "theorem _lh_search :\n%s\n:= by\n  exact?" % goal, "env": env})
            data = [m["data"] for m in r["messages"] if m["severity"] == "info"]
            assert data and json.dumps(data[0]) in recorded, data
            assert re.match(r"Try this:\n  \[apply\] exact ", data[0])
    finally:
        d.close()
