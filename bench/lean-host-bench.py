#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""lean-host benchmarks: print numbers, assert nothing.

  lean-host-bench.py roundtrip [--clients N] [--requests N]
      MCP round-trip latency of ping and tools/list over the socket, N clients
      in parallel threads; p50/p90/p99/max in microseconds.
  lean-host-bench.py lean-run [--requests N]
      lean_run latency through the daemon with the test-double worker
      (first call includes the worker start), and the bytes of one result
      (content[0].text and structuredContent).
  lean-host-bench.py rss [--clients N]
      daemon VmRSS/RssAnon at idle and with N initialized connections.
  lean-host-bench.py big-reply [--messages N] [--max-reply-bytes B]
      one lean_run whose REPL reply holds N error messages (the double's
      `@double errors`), while a second client sends `ping` every 5 ms: the
      worst ping latency during the call (how long the loop was blocked), the
      call's time, and the daemon's VmRSS/RssAnon before, at peak and 3 s after.

  lean-host-bench.py result-bytes
      every tool served (tools/list) called once on a small project against
      the meta test double (tests/double/lean-repl-meta: replies in the
      recorded REPL shapes): per tool the bytes of content[0].text, of
      structuredContent and of the whole JSON-RPC line; and the reference
      point of "Agents first": a trivial lean_run's text (aim: <= 300 bytes;
      printed, not asserted).

  lean-host-bench.py floor [--seconds S]
      lean-host against the floor under it, each as a ratio to a baseline
      measured in the same run: lean_run p50 vs the same REPL JSON sent
      through a pipe to the same stand-in worker; daemon CPU per ping and
      throughput at 1, 64 and 256 connections vs a bare epoll server
      (bench-echo.c, load from bench-load.c); the daemon's CPU while 16
      workers sit idle vs with none; daemon CPU per lean_run with 2,000 more
      (sleeping) processes on the machine vs without.

  lean-host-bench.py floor-run [--requests N]
      only floor's lean_run line (default 2000 calls), a second or two: for
      before/after pairs, interleaved, with LEAN_HOSTD pointing at each
      daemon in turn.

Binaries from the environment (bench/meson.build sets them): LEAN_HOSTD,
LEAN_REPL_DOUBLE, LEAN_REPL_META, LEAN_HOST_BENCH_ECHO, LEAN_HOST_BENCH_LOAD. Each mode starts its own `lean-hostd --listen` in a
temporary directory, with enforcement=process."""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time


class Conn:
    last_line = b""  # the raw JSON-RPC line of the last response (result-bytes)

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(120)
        self.s.connect(path)
        self.buf = b""
        self.id = 0

    def request(self, method, params=None):
        self.id += 1
        msg = {"jsonrpc": "2.0", "id": self.id, "method": method}
        if params is not None:
            msg["params"] = params
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            while b"\n" not in self.buf:
                d = self.s.recv(1 << 16)
                if not d:
                    raise EOFError("daemon closed the connection")
                self.buf += d
            line, self.buf = self.buf.split(b"\n", 1)
            m = json.loads(line)
            if m.get("id") == self.id:
                self.last_line = line
                return m

    def initialize(self):
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                    "clientInfo": {"name": "lean-host-bench", "version": "0"}})
        self.s.sendall(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')

    def close(self):
        self.s.close()


class Daemon:
    def __init__(self, extra_env=None):
        self.tmp = tempfile.mkdtemp(prefix="lean-host-bench.")
        run = os.path.join(self.tmp, "run")
        os.makedirs(run, mode=0o700)
        self.sock = os.path.join(run, "lean-host", "mcp.sock")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.tmp,
            "XDG_CONFIG_HOME": os.path.join(self.tmp, "config"),
            "XDG_RUNTIME_DIR": run,
            "LEAN_HOST_MCP_ENFORCEMENT": "process",
            "LEAN_HOST_MCP_IDLE_EXIT_SECS": "0",
        }
        if os.environ.get("LEAN_REPL_DOUBLE"):
            env["LEAN_HOST_MCP_WORKER_COMMAND"] = os.environ["LEAN_REPL_DOUBLE"]
        env.update(extra_env or {})
        self.log = open(os.path.join(self.tmp, "lean-hostd.log"), "wb")
        self.proc = subprocess.Popen([os.environ["LEAN_HOSTD"], "--listen", self.sock, "--log-level", "warning"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"lean-hostd exited ({self.proc.returncode}); log in {self.tmp}")
            try:
                Conn(self.sock).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SystemExit("lean-hostd did not listen")

    def status(self, key):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def report(name, samples_s):
    us = sorted(x * 1e6 for x in samples_s)
    q = lambda p: us[min(len(us) - 1, int(p * len(us)))]
    print(f"{name:<28} n={len(us):<6} p50={q(0.5):9.0f}us p90={q(0.9):9.0f}us p99={q(0.99):9.0f}us "
          f"max={us[-1]:9.0f}us mean={statistics.fmean(us):9.0f}us")


def bench_roundtrip(args):
    d = Daemon()
    try:
        for method in ("ping", "tools/list"):
            samples = []
            lock = threading.Lock()

            def worker():
                c = Conn(d.sock)
                c.initialize()
                mine = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    c.request(method)
                    mine.append(time.perf_counter() - t)
                c.close()
                with lock:
                    samples.extend(mine)

            threads = [threading.Thread(target=worker) for _ in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - t0
            report(f"{method} ({args.clients} clients)", samples)
            print(f"{'':<28} throughput={len(samples) / wall:.0f} req/s")
    finally:
        d.stop()


def bench_lean_run(args):
    if not os.environ.get("LEAN_REPL_DOUBLE"):
        print("lean-run: LEAN_REPL_DOUBLE is not set, skipped")
        return
    d = Daemon()
    proj = os.path.join(d.tmp, "proj")
    os.makedirs(proj)
    with open(os.path.join(proj, "lakefile.lean"), "w") as f:
        f.write("import Lake\nopen Lake DSL\npackage proj\n")
    try:
        c = Conn(d.sock)
        c.initialize()
        call = {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}}
        t = time.perf_counter()
        r = c.request("tools/call", call)
        first = time.perf_counter() - t
        if "error" in r or r["result"].get("isError"):
            print(f"lean-run: the call failed: {json.dumps(r)[:400]}")
            return
        print(f"{'lean_run first call':<28} {first * 1e6:9.0f}us (includes the worker start)")
        res = r["result"]
        text = len(res["content"][0]["text"].encode())
        structured = len(json.dumps(res.get("structuredContent"), separators=(",", ":")).encode())
        print(f"{'lean_run result bytes':<28} text={text} structuredContent={structured}")
        samples = []
        for _ in range(args.requests):
            t = time.perf_counter()
            c.request("tools/call", call)
            samples.append(time.perf_counter() - t)
        report("lean_run (warm worker)", samples)
        c.close()
    finally:
        d.stop()


# One call per tool, on the meta double's synthetic module Demo.Basic (the
# arguments the integration tests use); a tool missing here is listed as such.
RESULT_BYTES_CALLS = {
    "lean_project_status": {},
    "lean_run": {"code": "def x := 1"},
    "lean_module_query": {"module": "Demo.Basic"},
    "lean_module_query_batch": {"items": [{"module": "Demo.Basic"}, {"module": "Demo.Basic", "max_results": 1}]},
    "lean_declaration_inspect": {"name": "Demo.foo", "imports": ["Demo.Basic"]},
    "lean_declaration_search": {"query": "add", "max_results": 5},
    "lean_declaration_verify": {"name": "Demo.foo"},
    "lean_declaration_verify_batch": {"items": [{"name": "Demo.foo"}, {"name": "good",
                                                "code": "theorem good : 1 = 1 := rfl"}]},
    "lean_proof_attempt": {"statement": "1 = 1", "proof": "by rfl"},
    "lean_proof_search": {"goal": "0 < 1", "tactics": ["decide", "exact?"]},
}


def result_sizes(c, name, arguments):
    r = c.request("tools/call", {"name": name, "arguments": arguments})
    line = len(c.last_line)
    if "error" in r:
        return None, 0, line, f"JSON-RPC error {r['error'].get('code')}"
    res = r["result"]
    text = len(res["content"][0]["text"].encode()) if res.get("content") else 0
    structured = len(json.dumps(res.get("structuredContent"), separators=(",", ":"), ensure_ascii=False).encode())
    code = ""
    if res.get("isError"):
        code = "isError " + str(((res.get("structuredContent") or {}).get("error") or {}).get("code"))
    return text, structured, line, code


def bench_result_bytes(args):
    meta = os.environ.get("LEAN_REPL_META")
    if not meta:
        print("result-bytes: LEAN_REPL_META is not set, skipped")
        return
    d = Daemon({"LEAN_HOST_MCP_WORKER_COMMAND": meta})
    proj = os.path.join(d.tmp, "proj")
    os.makedirs(proj)
    with open(os.path.join(proj, "lakefile.lean"), "w") as f:
        f.write("import Lake\nopen Lake DSL\npackage proj\n")
    with open(os.path.join(proj, "lean-toolchain"), "w") as f:
        f.write("leanprover/lean4:v4.33.0-rc2\n")
    try:
        c = Conn(d.sock)
        c.initialize()
        names = [t["name"] for t in c.request("tools/list")["result"]["tools"]]
        # warm the worker first: the numbers are the tools', not the start's
        c.request("tools/call", {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}})
        print(f"{'tool':<32} {'text':>7} {'structured':>10} {'line':>7}  (bytes)")
        for name in names:
            if name not in RESULT_BYTES_CALLS:
                print(f"{name:<32} (no arguments known to the bench: add it to RESULT_BYTES_CALLS)")
                continue
            text, structured, line, note = result_sizes(c, name, {"project": proj, **RESULT_BYTES_CALLS[name]})
            print(f"{name:<32} {text if text is not None else '-':>7} {structured:>10} {line:>7}  {note}")
        text, structured, line, note = result_sizes(c, "lean_run", {"project": proj, "code": "example : 1 = 1 := rfl"})
        print(f"{'reference: trivial lean_run':<32} text={text} bytes (aim <= 300) structuredContent={structured} "
              f"line={line} {note}")
        c.close()
    finally:
        d.stop()


def bench_rss(args):
    d = Daemon()
    try:
        time.sleep(0.2)
        print(f"{'idle':<28} VmRSS={d.status('VmRSS')} KiB RssAnon={d.status('RssAnon')} KiB")
        conns = []
        for _ in range(args.clients):
            c = Conn(d.sock)
            c.initialize()
            conns.append(c)
        for c in conns:
            c.request("tools/list")
        print(f"{f'{args.clients} connections':<28} VmRSS={d.status('VmRSS')} KiB RssAnon={d.status('RssAnon')} KiB")
        for c in conns:
            c.close()
        time.sleep(0.5)
        print(f"{'after they closed':<28} VmRSS={d.status('VmRSS')} KiB RssAnon={d.status('RssAnon')} KiB")
    finally:
        d.stop()


def bench_big_reply(args):
    if not os.environ.get("LEAN_REPL_DOUBLE"):
        print("big-reply: LEAN_REPL_DOUBLE is not set, skipped")
        return
    d = Daemon({"LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES": str(args.max_reply_bytes)})
    proj = os.path.join(d.tmp, "proj")
    os.makedirs(proj)
    with open(os.path.join(proj, "lakefile.lean"), "w") as f:
        f.write("import Lake\nopen Lake DSL\npackage proj\n")
    try:
        r = ping_during_big_reply(d.sock, proj, args.messages, d.status)
        print(f"{'big-reply':<28} messages={args.messages} max_reply_bytes={args.max_reply_bytes} "
              f"call={r['call_s'] * 1e3:.0f}ms error={r['error']}")
        report("ping during big reply", r["pings"])
        print(f"{'daemon RSS (KiB)':<28} before={r['rss_before']} peak={r['rss_peak']} after={r['rss_after']} "
              f"anon_after={r['anon_after']}")
    finally:
        d.stop()


def ping_during_big_reply(sock, proj, messages, status, settle=3.0):
    """Shared with tests/integration/test_big_reply.py (imported from there)."""
    a = Conn(sock)
    a.initialize()
    b = Conn(sock)
    b.initialize()
    warm = a.request("tools/call", {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}})
    assert "result" in warm, warm
    time.sleep(0.3)
    rss_before = status("VmRSS")
    pings, peak, stop = [], [rss_before], threading.Event()

    def pinger():
        while not stop.is_set():
            t = time.perf_counter()
            b.request("ping")
            pings.append(time.perf_counter() - t)
            peak.append(status("VmRSS"))
            time.sleep(0.005)

    th = threading.Thread(target=pinger)
    th.start()
    code = f"def x := 1\n-- @double errors {messages} message\n"
    t = time.perf_counter()
    res = a.request("tools/call", {"name": "lean_run", "arguments": {"project": proj, "code": code}})
    call_s = time.perf_counter() - t
    time.sleep(settle)  # pinging on: the release and the heap trim come after the answer
    stop.set()
    th.join()
    out = {"pings": pings, "call_s": call_s, "rss_before": rss_before, "rss_peak": max(peak),
           "rss_after": status("VmRSS"), "anon_after": status("RssAnon"), "response": res,
           "error": None}
    sc = res.get("result", {}).get("structuredContent") or {}
    if res.get("result", {}).get("isError"):
        out["error"] = (sc.get("error") or {}).get("code")
    a.close()
    b.close()
    return out


# ---- floor ---------------------------------------------------------------

def cpu_s(pid):
    """utime+stime of pid (all its threads, also ended ones), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_ns_threads(pid):
    """CPU of pid's live threads from schedstat, nanoseconds: finer than
    clock ticks, for an idle daemon (whose threads do not come and go)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def make_project(root, name):
    proj = os.path.join(root, name)
    os.makedirs(proj)
    with open(os.path.join(proj, "lakefile.lean"), "w") as f:
        f.write(f"import Lake\nopen Lake DSL\npackage {name}\n")
    return proj


def pipe_roundtrips(n):
    """The same REPL command through a pipe to the stand-in worker, no daemon."""
    p = subprocess.Popen([os.environ["LEAN_REPL_DOUBLE"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def roundtrip(cmd):
        p.stdin.write(json.dumps(cmd).encode() + b"\n\n")
        p.stdin.flush()
        got = False
        while True:
            line = p.stdout.readline()
            if not line:
                raise EOFError("the worker closed its stdout")
            if line.strip():
                got = True
            elif got:
                return

    roundtrip({"cmd": "def x := 1"})
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        roundtrip({"cmd": "def x := 1", "env": 0})
        samples.append(time.perf_counter() - t)
    p.stdin.close()
    p.wait()
    return samples


def p50(samples):
    return sorted(samples)[len(samples) // 2]


def floor_lean_run(d, n):
    proj = make_project(d.tmp, "p0")
    c = Conn(d.sock)
    c.initialize()
    call = {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}}
    r = c.request("tools/call", call)
    if "error" in r or r["result"].get("isError"):
        raise SystemExit(f"lean_run failed: {json.dumps(r)[:400]}")
    daemon = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("tools/call", call)
        daemon.append(time.perf_counter() - t)
    # the same project through a symlink: never cached, so every call looks
    # the project up on a thread (the cold path)
    link = os.path.join(d.tmp, "p0-link")
    os.symlink(proj, link)
    cold_call = {"name": "lean_run", "arguments": {"project": link, "code": "def x := 1"}}
    cold = []
    for _ in range(max(n // 4, 1)):
        t = time.perf_counter()
        c.request("tools/call", cold_call)
        cold.append(time.perf_counter() - t)
    c.close()
    pipe = pipe_roundtrips(n)
    a, b = p50(daemon) * 1e6, p50(pipe) * 1e6
    print(f"lean_run p50 {a:8.0f}us  direct pipe p50 {b:8.0f}us  added {a - b:8.0f}us  ratio {a / b:5.2f}  "
          f"(target: added <= 100us)")
    print(f"lean_run p50 with the project looked up on every call (a symlinked path) {p50(cold) * 1e6:8.0f}us")


def load(sock, conns, secs):
    out = subprocess.run([os.environ["LEAN_HOST_BENCH_LOAD"], "ping", sock, str(conns), str(secs)],
                         capture_output=True, text=True, timeout=secs + 120)
    for line in out.stdout.splitlines():
        if line.startswith("requests "):
            return int(line.split()[1])
    raise SystemExit(f"bench-load failed: {out.stderr}")


def ping_cpu(pid, sock, conns, secs):
    c0 = cpu_s(pid)
    n = load(sock, conns, secs)
    return (cpu_s(pid) - c0) / max(n, 1) * 1e6, n / secs


def floor_ping(d, secs):
    tmp = tempfile.mkdtemp(prefix="lean-host-echo.")
    esock = os.path.join(tmp, "echo.sock")
    echo = subprocess.Popen([os.environ["LEAN_HOST_BENCH_ECHO"], esock])
    try:
        for _ in range(200):
            if os.path.exists(esock):
                break
            time.sleep(0.01)
        for conns in (1, 64, 256):
            dc, dt = ping_cpu(d.proc.pid, d.sock, conns, secs)
            ec, et = ping_cpu(echo.pid, esock, conns, secs)
            print(f"ping {conns:3d} conns: daemon {dc:6.1f}us CPU/req {dt:8.0f} req/s | bare epoll {ec:6.1f}us "
                  f"CPU/req {et:8.0f} req/s | CPU ratio {dc / max(ec, 1e-3):5.2f} throughput ratio "
                  f"{dt / max(et, 1e-3):5.2f}" + ("  (target: CPU ratio <= 3)" if conns == 64 else ""))
    finally:
        echo.terminate()
        echo.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def floor_idle(d, workers, secs):
    def idle_cpu():
        time.sleep(1.0)
        c0 = cpu_ns_threads(d.proc.pid)
        time.sleep(secs)
        return (cpu_ns_threads(d.proc.pid) - c0) / secs / 1e6

    base = idle_cpu()
    conns = []
    for i in range(workers):
        c = Conn(d.sock)
        c.initialize()
        proj = make_project(d.tmp, f"idle{i}")
        r = c.request("tools/call", {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}})
        if "error" in r or r["result"].get("isError"):
            raise SystemExit(f"lean_run failed: {json.dumps(r)[:400]}")
        conns.append(c)
    busy = idle_cpu()
    for c in conns:
        c.close()
    print(f"idle daemon CPU: {workers} idle workers {busy:6.3f} ms/s | no worker {base:6.3f} ms/s  "
          f"(target: < 2 ms/s)")


def floor_crowd(d, n, crowd):
    proj = make_project(d.tmp, "crowd")
    c = Conn(d.sock)
    c.initialize()
    call = {"name": "lean_run", "arguments": {"project": proj, "code": "def x := 1"}}
    c.request("tools/call", call)

    def cost():
        c0 = cpu_s(d.proc.pid)
        for _ in range(n):
            c.request("tools/call", call)
        return (cpu_s(d.proc.pid) - c0) / n * 1e6

    quiet = cost()
    cr = subprocess.Popen([os.environ["LEAN_HOST_BENCH_LOAD"], "crowd", str(crowd)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    try:
        cr.stdout.readline()
        crowded = cost()
    finally:
        cr.stdin.close()
        cr.wait()
    c.close()
    print(f"lean_run daemon CPU: {crowded:7.0f}us with {crowd} more processes | {quiet:7.0f}us without | "
          f"ratio {crowded / max(quiet, 1e-3):5.2f}  (target: ~1)")


def bench_floor_run(args):
    """Only floor's lean_run line: for interleaved before/after runs."""
    if not os.environ.get("LEAN_REPL_DOUBLE"):
        print("floor-run: LEAN_REPL_DOUBLE is not set, skipped")
        return
    print(f"floor-run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()[0]:.2f}")
    d = Daemon({})
    try:
        floor_lean_run(d, args.requests)
    finally:
        d.stop()


def bench_floor(args):
    for k in ("LEAN_REPL_DOUBLE", "LEAN_HOST_BENCH_ECHO", "LEAN_HOST_BENCH_LOAD"):
        if not os.environ.get(k):
            print(f"floor: {k} is not set, skipped")
            return
    print(f"floor: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    d = Daemon({"LEAN_HOST_MCP_MAX_WORKERS": "20"})
    try:
        floor_lean_run(d, args.requests)
        floor_ping(d, args.seconds)
        floor_crowd(d, args.requests, 2000)
        floor_idle(d, 16, 10.0)
    finally:
        d.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["roundtrip", "lean-run", "rss", "big-reply", "floor", "floor-run",
                                     "result-bytes"])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--messages", type=int, default=150000)
    ap.add_argument("--max-reply-bytes", type=int, default=24 << 20)
    ap.add_argument("--clients", type=int, default=None)
    ap.add_argument("--requests", type=int, default=None)
    args = ap.parse_args()
    if "LEAN_HOSTD" not in os.environ:
        sys.exit("LEAN_HOSTD is not set (run through `meson test --benchmark`)")
    if args.mode == "roundtrip":
        args.clients = args.clients or 8
        args.requests = args.requests or 500
        bench_roundtrip(args)
    elif args.mode == "lean-run":
        args.requests = args.requests or 200
        bench_lean_run(args)
    elif args.mode == "big-reply":
        bench_big_reply(args)
    elif args.mode == "result-bytes":
        bench_result_bytes(args)
    elif args.mode == "floor":
        args.requests = args.requests or 300
        bench_floor(args)
    elif args.mode == "floor-run":
        args.requests = args.requests or 2000
        bench_floor_run(args)
    else:
        args.clients = args.clients or 200
        bench_rss(args)


if __name__ == "__main__":
    main()
