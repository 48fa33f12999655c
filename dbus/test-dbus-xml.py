#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""test-dbus-xml.py TEST_BUS DBUS_SRC_DIR [SERVICE_FILE POLICY_FILE]: the
shipped introspection XML matches what the vtables export (test-bus
--introspect over a peer connection, no bus daemon needed); the activation
file names the service and an absolute lean-hostd; the policy parses."""

import os
import configparser
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import introspect_compare  # noqa: E402

CASES = [
    ("manager", "org.leanhost.Host1.Manager"),
    ("project", "org.leanhost.Host1.Project"),
]


def main():
    test_bus, src = sys.argv[1], sys.argv[2]
    failed = False
    for which, iface in CASES:
        live = subprocess.run([test_bus, "--introspect", which], check=True, capture_output=True, text=True).stdout
        with open(os.path.join(src, iface + ".xml")) as f:
            shipped = f.read()
        diffs = introspect_compare.differences(shipped, live, iface)
        for d in diffs:
            print(f"{iface}: {d}", file=sys.stderr)
        failed |= bool(diffs)
        n = len(introspect_compare.interfaces(shipped)[iface])
        print(f"{iface}: {n} members compared, {len(diffs)} difference(s)")
    if len(sys.argv) > 4:
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read(sys.argv[3])
        svc = cp["D-BUS Service"]
        problems = []
        if svc.get("Name") != "org.leanhost.Host1":
            problems.append(f"Name={svc.get('Name')}")
        if not (svc.get("Exec", "").startswith("/") and svc.get("Exec", "").endswith("/lean-hostd")):
            problems.append(f"Exec={svc.get('Exec')}")
        if svc.get("SystemdService") != "lean-hostd.service":
            problems.append(f"SystemdService={svc.get('SystemdService')}")
        for p in problems:
            print(f"{sys.argv[3]}: bad {p}", file=sys.stderr)
        failed |= bool(problems)
        with open(sys.argv[4]) as f:
            text = f.read()
        policy = ET.fromstring(text[text.index("<busconfig"):])
        owners = [a.get("own") for a in policy.iter("allow") if a.get("own")]
        if owners != ["org.leanhost.Host1"]:
            print(f"{sys.argv[4]}: owners {owners}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
