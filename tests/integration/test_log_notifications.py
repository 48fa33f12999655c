# SPDX-License-Identifier: LGPL-2.1-or-later
"""The logging capability: lean-hostd's own log lines reach the MCP clients
that asked with logging/setLevel, as notifications/message (logger
"lean-hostd"), at or above the level each one set; a client that never set
a level gets none."""

import time


def _drain(c, seconds=0.5):
    """Read for a while (a ping keeps the exchange going) and return the notifications/message seen."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c.request("ping")
        time.sleep(0.05)
    got = [n for n in c.notifications if n.get("method") == "notifications/message"]
    c.notifications.clear()
    return got


def test_log_lines_reach_clients_that_set_a_level(daemon):
    with daemon.client() as loud, daemon.client() as quiet, daemon.client() as silent:
        for c in (loud, quiet, silent):
            assert "logging" in c.initialize()["capabilities"]
        assert loud.request("logging/setLevel", {"level": "debug"}).get("result") == {}
        assert quiet.request("logging/setLevel", {"level": "error"}).get("result") == {}
        _drain(loud, 0.2)

        # a connection opening and closing is logged at debug level (the fixture runs --log-level debug)
        with daemon.client() as other:
            other.request("ping")
        got = _drain(loud)
        lines = [n["params"] for n in got]
        assert any("opened" in p.get("data", "") and p.get("level") == "debug" and p.get("logger") == "lean-hostd"
                   for p in lines), lines
        assert all(isinstance(p.get("data"), str) for p in lines), lines

        assert _drain(quiet) == []   # error and above only
        assert _drain(silent) == []  # never set a level

        # lowering the level stops the debug lines
        assert loud.request("logging/setLevel", {"level": "warning"}).get("result") == {}
        _drain(loud, 0.2)
        with daemon.client() as other:
            other.request("ping")
        assert [n for n in _drain(loud) if n["params"].get("level") == "debug"] == []
