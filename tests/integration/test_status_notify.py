# SPDX-License-Identifier: LGPL-2.1-or-later
"""The daemon's STATUS= line (sd_notify) follows what it shows.

It shows connections, workers and the mode new workers get; a project's
state changes (a job starts, ends) are not on it, so a tool call on a warm
worker sends no STATUS= at all (it used to send the same line four times
per call)."""

import os
import socket
import time

from conftest import lean_run_args, tool_body


def _statuses(sock, timeout=0.5):
    """STATUS= values received until the socket is quiet for timeout."""
    out = []
    sock.settimeout(timeout)
    while True:
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            return out
        for line in data.split("\n"):
            if line.startswith("STATUS="):
                out.append(line[len("STATUS="):])


def test_status_line_follows_connections_and_workers(start_daemon, tmp_path, lean_project):
    path = os.path.join(str(tmp_path), "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    try:
        d = start_daemon(env={"NOTIFY_SOCKET": path})
        assert _statuses(ns)[-1:] == ["0 connections, 0 workers, enforcement process"]
        with d.client() as c:
            c.initialize()
            assert _statuses(ns)[-1:] == ["1 connection, 0 workers, enforcement process"]
            r = c.call_tool("lean_run", lean_run_args(lean_project, "#eval 1"))
            assert not r.get("isError"), tool_body(r)
            # the worker came: the line says so
            assert _statuses(ns)[-1:] == ["1 connection, 1 worker, enforcement process"]
            # a call on the warm worker changes nothing the line shows
            for _ in range(2):
                r = c.call_tool("lean_run", lean_run_args(lean_project, "#eval 2"))
                assert not r.get("isError"), tool_body(r)
            assert _statuses(ns) == []
        time.sleep(0.2)
        assert _statuses(ns)[-1:] == ["0 connections, 1 worker, enforcement process"]
    finally:
        ns.close()
