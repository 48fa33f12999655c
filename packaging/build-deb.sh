#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# build-deb.sh [OUTDIR]: build the Debian package from this checkout (its
# committed and uncommitted tracked files, plus untracked ones not ignored)
# in a temporary copy, so the tree stays clean; the .deb, .changes and
# .buildinfo land in OUTDIR (default build-deb/, ignored by git).
# Needs dpkg-dev and debhelper; runs the unit suite during the build.
set -euo pipefail
exec </dev/null

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$top/build-deb}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/lean-host" "$out"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	tar --null --ignore-failed-read -T - -cf - ) | tar -xf - -C "$tmp/lean-host"
ln -s packaging/debian "$tmp/lean-host/debian"
(cd "$tmp/lean-host" && dpkg-buildpackage -us -uc -b)
cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$out/"
echo "build-deb: $(cd "$out" && ls -- *.deb | tr '\n' ' ')in $out" >&2
