/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean-host-mcp: the stdio ↔ unix-socket byte pump an MCP client launches.
 *
 * Bytes pass unchanged both ways; the framing (one JSON-RPC message per
 * line) is the daemon's business. Exit status:
 *   0   stdin reached EOF and the daemon's answers were drained, or the
 *       daemon closed the connection at a line boundary;
 *   1   the connection failed mid-stream (reset, or closed in the middle of
 *       a line), or stdout went away;
 *   2   usage error;
 *   69  (EX_UNAVAILABLE) nothing listens on the socket; stderr says what
 *       failed and the command that fixes it. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "basic/macro.h"
#include "basic/socket-path.h"
#include "lh-build-config.h"

#define EXIT_UNAVAILABLE 69
#define PUMP_BUFFER_SIZE (64 * 1024)

typedef struct Buffer {
        char data[PUMP_BUFFER_SIZE];
        size_t start, end;
} Buffer;

static size_t buffer_len(const Buffer *b) {
        return b->end - b->start;
}

static void help(void) {
        printf("lean-host-mcp [OPTIONS...]\n\n"
               "Connect an MCP client speaking on stdin/stdout to the lean-hostd daemon.\n"
               "Register it with your MCP client as {\"command\": \"lean-host-mcp\"}.\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "     --socket PATH     Connect to this socket (default:\n"
               "                       $XDG_RUNTIME_DIR/lean-host/mcp.sock)\n"
               "\nExit status: 0 on a clean end, 1 when the connection broke mid-stream,\n"
               "69 when no daemon listens on the socket.\n");
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
                if (err == ENOENT || err == ECONNREFUSED) {
                        fprintf(stderr, "lean-host-mcp: the daemon is not running. Start it with:\n");
                        if (!explicit_path)
                                fprintf(stderr, "    systemctl --user enable --now lean-hostd.socket\n"
                                                "or, without a systemd user manager:\n");
                        fprintf(stderr, "    lean-hostd --listen %s &\n", path);
                }
                return -err;
        }
        return TAKE_FD(fd);
}

static int parse_argv(int argc, char *argv[], const char **ret_socket) {
        enum { ARG_VERSION = 0x100, ARG_SOCKET };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "socket", required_argument, NULL, ARG_SOCKET },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 1;
                case ARG_VERSION:
                        printf("lean-host-mcp %s\n", PACKAGE_VERSION);
                        return 1;
                case ARG_SOCKET:
                        if (isempty(optarg)) {
                                fprintf(stderr, "lean-host-mcp: --socket needs a path.\n");
                                return -EINVAL;
                        }
                        *ret_socket = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc) {
                fprintf(stderr, "lean-host-mcp: unexpected argument '%s'.\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* Read into the free tail of b. Returns bytes read, 0 on EOF, <0 on error. */
static ssize_t buffer_fill(Buffer *b, int fd) {
        ssize_t n;

        if (b->start == b->end)
                b->start = b->end = 0;
        n = read(fd, b->data + b->end, sizeof(b->data) - b->end);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? -EAGAIN : negative_errno();
        b->end += n;
        return n;
}

/* Write at most max bytes of b. stdout may be a blocking pipe we do not own
 * (its O_NONBLOCK flag is shared with the client), so after POLLOUT we write
 * no more than PIPE_BUF, which a pipe with room takes without blocking. */
static int buffer_flush(Buffer *b, int fd, size_t max) {
        ssize_t n;

        n = write(fd, b->data + b->start, MIN(buffer_len(b), max));
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
        b->start += n;
        return 0;
}

static int pump(int sock) {
        static Buffer in, out; /* stdin → socket, socket → stdout */
        bool stdin_eof = false, sock_eof = false, shut_wr = false;
        char last_out = '\n';
        ssize_t n;
        int r;

        for (;;) {
                struct pollfd p[3] = {
                        { .fd = STDIN_FILENO },
                        { .fd = sock },
                        { .fd = STDOUT_FILENO },
                };

                if (stdin_eof && buffer_len(&in) == 0 && !shut_wr) {
                        /* The daemon answers what it was sent, then closes. */
                        (void) shutdown(sock, SHUT_WR);
                        shut_wr = true;
                }
                if (sock_eof && buffer_len(&out) == 0) {
                        if (last_out != '\n') {
                                fprintf(stderr, "lean-host-mcp: lean-hostd closed the connection in the middle of a message.\n");
                                return -EPIPE;
                        }
                        return 0;
                }

                if (!stdin_eof && buffer_len(&in) == 0)
                        p[0].events = POLLIN;
                else
                        p[0].fd = -1;
                if (buffer_len(&in) > 0)
                        p[1].events |= POLLOUT;
                if (!sock_eof && buffer_len(&out) == 0)
                        p[1].events |= POLLIN;
                if (buffer_len(&out) > 0)
                        p[2].events = POLLOUT;
                else
                        p[2].fd = -1;

                if (poll(p, ELEMENTSOF(p), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }

                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = buffer_fill(&in, STDIN_FILENO);
                        if (n == 0)
                                stdin_eof = true;
                        else if (n < 0 && n != -EAGAIN) {
                                /* Unreadable stdin counts as its end. */
                                stdin_eof = true;
                        }
                }

                if (p[1].revents & (POLLIN | POLLHUP | POLLERR) && !sock_eof && buffer_len(&out) == 0) {
                        n = buffer_fill(&out, sock);
                        if (n == 0)
                                sock_eof = true;
                        else if (n < 0 && n != -EAGAIN) {
                                fprintf(stderr, "lean-host-mcp: reading from lean-hostd failed: %s\n", strerror((int) -n));
                                return (int) n;
                        } else if (n > 0)
                                last_out = out.data[out.end - 1];
                }

                if (p[1].revents & (POLLOUT | POLLERR | POLLHUP) && buffer_len(&in) > 0) {
                        r = buffer_flush(&in, sock, SIZE_MAX);
                        if (r < 0) {
                                if (r == -EPIPE || r == -ECONNRESET) {
                                        /* The daemon closed on us (e.g. line too long); show what it said. */
                                        in.start = in.end = 0;
                                        stdin_eof = true;
                                } else {
                                        fprintf(stderr, "lean-host-mcp: writing to lean-hostd failed: %s\n", strerror(-r));
                                        return r;
                                }
                        }
                }

                if (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
                        r = buffer_flush(&out, STDOUT_FILENO, PIPE_BUF);
                        if (r < 0) {
                                if (r != -EPIPE)
                                        fprintf(stderr, "lean-host-mcp: writing to stdout failed: %s\n", strerror(-r));
                                return r;
                        }
                }
        }
}

int main(int argc, char *argv[]) {
        _cleanup_free_ char *default_path = NULL;
        _cleanup_close_ int sock = -EBADF;
        const char *path = NULL;
        int r;

        r = parse_argv(argc, argv, &path);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;

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
                return EXIT_UNAVAILABLE;

        if (fcntl(sock, F_SETFL, O_NONBLOCK) < 0) {
                fprintf(stderr, "lean-host-mcp: cannot make the socket non-blocking: %m\n");
                return EXIT_FAILURE;
        }

        r = pump(sock);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
