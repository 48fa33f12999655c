/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean-host-mcp: the stdio ↔ unix-socket bridge an MCP client launches.
 *
 * Lines pass unchanged both ways; the session logic (riding out a daemon
 * restart) is in bridge.c. Exit status:
 *   0   stdin reached EOF and the daemon's answers were drained;
 *   1   the stream broke (a line cut short at the end, stdout went away);
 *   2   usage error;
 *   69  (EX_UNAVAILABLE) no daemon answers on the socket; stderr says what
 *       is wrong and the command that fixes it;
 *   75  (EX_TEMPFAIL) the daemon went away mid-session and did not come back
 *       within 30 s. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/argv-util.h"
#include "basic/macro.h"
#include "basic/socket-path.h"
#include "bridge/bridge.h"
#include "lh-build-config.h"

static void help(void) {
        printf("lean-host-mcp [OPTIONS...]\n\n"
               "Connect an MCP client speaking on stdin/stdout to the lean-hostd daemon.\n"
               "Register it with your MCP client as {\"command\": \"lean-host-mcp\"}.\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "     --socket PATH     Connect to this socket (default:\n"
               "                       $XDG_RUNTIME_DIR/lean-host/mcp.sock, without it\n"
               "                       /run/user/UID/..., else /tmp/lean-host-UID/...)\n"
               "     --reconnect-secs N  How long a lost daemon may take to come back\n"
               "                       (default 30)\n"
               "\nWhen lean-hostd restarts, the bridge reconnects on the next message and\n"
               "replays the session's initialize; calls in flight get a retryable error.\n"
               "\nExit status: 0 on a clean end, 1 when the stream broke, 2 on a usage error,\n"
               "69 when no daemon answers, 75 when the daemon went away and did not come\n"
               "back within --reconnect-secs.\n");
}

static int connect_socket(const char *path, bool explicit_path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int err;

        if (strlen(path) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "lean-host-mcp: socket path too long: %s\n", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "lean-host-mcp: cannot create a socket: %m\n");
                return negative_errno();
        }
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                err = errno;
                fprintf(stderr, "lean-host-mcp: cannot connect to lean-hostd at %s: %s\n", path, strerror(err));
                bridge_print_hint(path, explicit_path, err);
                return -err;
        }
        return TAKE_FD(fd);
}

static int parse_argv(int argc, char *argv[], const char **ret_socket, unsigned long long *ret_reconnect_usec) {
        enum { ARG_SOCKET = ARGV_FIRST_OPTION, ARG_RECONNECT };
        static const struct option options[] = {
                ARGV_COMMON_OPTIONS,
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "reconnect-secs", required_argument, NULL, ARG_RECONNECT },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_SOCKET:
                        if (isempty(optarg)) {
                                fprintf(stderr, "lean-host-mcp: --socket needs a path.\n");
                                return -EINVAL;
                        }
                        *ret_socket = optarg;
                        break;
                case ARG_RECONNECT: {
                        char *end = NULL;
                        unsigned long v;

                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || isempty(optarg) || *end || v > 3600) {
                                fprintf(stderr, "lean-host-mcp: --reconnect-secs needs 0…3600.\n");
                                return -EINVAL;
                        }
                        *ret_reconnect_usec = v * 1000000ULL;
                        break;
                }
                default:
                        return argv_common_option(c, "lean-host-mcp", help);
                }
        return argv_no_positional("lean-host-mcp", argc, argv);
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *default_path = NULL;
        Bridge *b = NULL;
        unsigned long long reconnect_usec = BRIDGE_RECONNECT_USEC;
        const char *path = NULL;
        int sock, r;

        r = parse_argv(argc, argv, &path, &reconnect_usec);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : BRIDGE_EXIT_USAGE;

        signal(SIGPIPE, SIG_IGN);

        if (!path) {
                if (socket_path_default(&default_path) < 0) {
                        fprintf(stderr, "lean-host-mcp: out of memory\n");
                        return EXIT_FAILURE;
                }
                path = default_path;
        }

        sock = connect_socket(path, path != default_path);
        if (sock < 0)
                return BRIDGE_EXIT_UNAVAILABLE;

        if (fcntl(sock, F_SETFL, O_NONBLOCK) < 0 ||
            bridge_new(&b, sock, path, reconnect_usec) < 0) {
                fprintf(stderr, "lean-host-mcp: cannot set up the connection: %m\n");
                safe_close(sock);
                return EXIT_FAILURE;
        }

        r = bridge_run(b);
        bridge_free(b);
        return r;
}
