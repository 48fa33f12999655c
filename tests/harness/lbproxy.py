# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs the shipped deploy/haproxy/haproxy.cfg (unchanged) in front of test
nodes, and small HTTP helpers for talking to it."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import time

SOURCE_ROOT = os.environ.get("SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = os.path.join(SOURCE_ROOT, "deploy", "haproxy", "haproxy.cfg")
ERRORS = os.path.join(SOURCE_ROOT, "deploy", "haproxy", "errors")


def unavailable():
    if not shutil.which("haproxy"):
        return "haproxy is not installed (Debian package haproxy)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HAProxy:
    def __init__(self, tmpdir, backends):
        """backends: ADDR:PORT of node1..node3, in order."""
        assert len(backends) == 3, "the shipped config has three server lines"
        self.port = free_port()
        self.admin = os.path.join(str(tmpdir), "haproxy-admin.sock")
        self.log_path = os.path.join(str(tmpdir), "haproxy.log")
        env = dict(os.environ, LEAN_HOST_BIND=f"127.0.0.1:{self.port}", LEAN_HOST_ERRORS=ERRORS,
                   LEAN_HOST_ADMIN=self.admin)
        for i, b in enumerate(backends, 1):
            env[f"LEAN_HOST_NODE{i}"] = b
        check = subprocess.run(["haproxy", "-c", "-f", CONFIG], env=env, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", CONFIG], env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.read_log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("haproxy did not listen: " + self.read_log())

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(5)
            s.connect(self.admin)
            s.sendall(cmd.encode() + b"\n")
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        return out.decode()

    def server_states(self):
        """{server name: 'UP'|'DOWN'|...} from `show stat`."""
        lines = self.command("show stat").splitlines()
        head = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == "lean_hostd" and row.get("svname", "").startswith("node"):
                states[row["svname"]] = row["status"].split()[0]
        return states

    def wait_states(self, want, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            st = self.server_states()
            if all(st.get(k) == v for k, v in want.items()):
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"servers {st}, wanted {want}")
            time.sleep(0.2)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Truncated:
    """A reply whose body ended early (the node died mid-stream)."""

    def __init__(self, partial):
        self.partial = partial

    def __repr__(self):
        return f"Truncated({self.partial[:200]!r})"


def post(port, body, headers=None, timeout=60):
    """POST /mcp through the proxy: (status, headers dict lower-case, parsed
    or raw body, or a Truncated)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    h.update(headers or {})
    try:
        conn.request("POST", "/mcp", body=json.dumps(body).encode(), headers=h)
        r = conn.getresponse()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        try:
            data = r.read()
        except http.client.IncompleteRead as e:
            return r.status, hdrs, Truncated(e.partial)
    finally:
        conn.close()
    ctype = hdrs.get("content-type", "")
    if ctype.startswith("application/json") and data:
        return r.status, hdrs, json.loads(data)
    if ctype.startswith("text/event-stream"):
        msgs = [json.loads(line[5:]) for line in data.decode().splitlines() if line.startswith("data:")]
        return r.status, hdrs, msgs[-1] if msgs else None
    return r.status, hdrs, data
