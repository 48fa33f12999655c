# SPDX-License-Identifier: LGPL-2.1-or-later
"""Network namespaces for multi-node tests (iproute2, root only).

`Nodes(n)` makes n namespaces, each joined to the test's own namespace by a
veth pair on a /24 of its own: the host end is 10.X.i.1, the node end
10.X.i.2, X random per run so parallel runs do not collide.  `run()` and
`popen()` start a command inside a node's namespace (`ip netns exec`); the
node's processes see only their own interfaces, so a node that dies takes
its address with it exactly as a machine would.  `close()` kills what was
started, deletes the namespaces (the veth pairs go with them).

`unavailable()` says why this cannot run here (not root, no `ip`, no
netns support), or None.
"""

import os
import random
import shutil
import subprocess


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def unavailable():
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2 (`ip`) is not installed"
    name = f"lhprobe{os.getpid()}"
    r = _ip("netns", "add", name, check=False)
    if r.returncode != 0:
        return f"`ip netns add` failed: {r.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


class Node:
    def __init__(self, ns, addr, host_addr):
        self.ns = ns
        self.addr = addr            # the node's address, reachable from the test's namespace
        self.host_addr = host_addr  # the test's end of the link
        self.procs = []

    def argv(self, argv):
        return ["ip", "netns", "exec", self.ns, *argv]

    def run(self, argv, **kw):
        return subprocess.run(self.argv(argv), **kw)

    def popen(self, argv, **kw):
        p = subprocess.Popen(self.argv(argv), **kw)
        self.procs.append(p)
        return p


class Nodes:
    def __init__(self, n):
        self.tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.net = random.randrange(100, 250)
        self.nodes = []
        try:
            for i in range(n):
                self.nodes.append(self._make(i))
        except BaseException:
            self.close()
            raise

    def _make(self, i):
        ns = f"lh{self.tag}n{i}"
        host_if, node_if = f"lh{self.tag}h{i}", f"lh{self.tag}v{i}"
        host_addr, addr = f"10.{self.net}.{i + 1}.1", f"10.{self.net}.{i + 1}.2"
        _ip("netns", "add", ns)
        node = Node(ns, addr, host_addr)
        _ip("link", "add", host_if, "type", "veth", "peer", "name", node_if)
        _ip("link", "set", node_if, "netns", ns)
        _ip("addr", "add", f"{host_addr}/24", "dev", host_if)
        _ip("link", "set", host_if, "up")
        for args in (("addr", "add", f"{addr}/24", "dev", node_if), ("link", "set", node_if, "up"),
                     ("link", "set", "lo", "up")):
            _ip("-n", ns, *args)
        node.host_if = host_if
        return node

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, i):
        return self.nodes[i]

    def __len__(self):
        return len(self.nodes)

    def close(self):
        for node in self.nodes:
            for p in node.procs:
                if p.poll() is None:
                    p.kill()
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
            # anything else still in the namespace (a worker the daemon left)
            r = _ip("netns", "pids", node.ns, check=False)
            for pid in r.stdout.split():
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            _ip("netns", "del", node.ns, check=False)
            _ip("link", "del", node.host_if, check=False)
        self.nodes = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
