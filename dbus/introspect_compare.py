# SPDX-License-Identifier: LGPL-2.1-or-later
"""Compare two D-Bus introspection documents interface by interface, member
by member (names, types, arg names and directions, annotations), ignoring
comments, whitespace and member order. Used by dbus/test-dbus-xml.py (against
the vtables) and tests/integration/test_bus.py (against the live daemon)."""

import xml.etree.ElementTree as ET


def _strip_doctype(text):
    # ElementTree does not fetch DTDs; it only needs the DOCTYPE line gone
    # when the document is not at the very start.
    return text.strip()


# sd-bus adds this to methods without SD_BUS_VTABLE_UNPRIVILEGED only on
# untrusted connections (system bus, peer connections): the user bus, whose
# peers all run as the same user, never shows it.
PRIVILEGED = "org.freedesktop.systemd1.Privileged"


def interfaces(text, ignore_annotations=()):
    """{interface name: {('property'|'method'|'signal', name): description}}"""
    root = ET.fromstring(_strip_doctype(text))
    out = {}
    for iface in root.findall("interface"):
        members = {}
        for el in iface:
            if el.tag not in ("property", "method", "signal"):
                continue
            args = tuple((a.get("name"), a.get("type"), a.get("direction") or ("out" if el.tag == "signal" else "in"))
                         for a in el.findall("arg"))
            annotations = tuple(sorted((a.get("name"), a.get("value")) for a in el.findall("annotation")
                                       if a.get("name") not in ignore_annotations))
            members[(el.tag, el.get("name"))] = {
                "type": el.get("type"),
                "access": el.get("access"),
                "args": args,
                "annotations": annotations,
            }
        out[iface.get("name")] = members
    return out


def differences(expected_text, live_text, interface, ignore_annotations=()):
    """A list of human-readable differences of one interface (empty: equal).
    Pass ignore_annotations=(PRIVILEGED,) when live_text comes from the user
    bus."""
    want = interfaces(expected_text, ignore_annotations).get(interface)
    have = interfaces(live_text, ignore_annotations).get(interface)
    if want is None:
        return [f"{interface} missing from the expected XML"]
    if have is None:
        return [f"{interface} missing from the live introspection"]
    diffs = []
    for key in sorted(set(want) | set(have)):
        if key not in have:
            diffs.append(f"{key[0]} {key[1]}: documented but not exported")
        elif key not in want:
            diffs.append(f"{key[0]} {key[1]}: exported but not documented")
        elif want[key] != have[key]:
            diffs.append(f"{key[0]} {key[1]}: documented {want[key]} != exported {have[key]}")
    return diffs
