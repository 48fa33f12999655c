/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor for lean-hostd's ping cost: a bare epoll server on a Unix
 * socket that answers every newline-terminated line holding an "id" with a
 * JSON-RPC result line (and ignores notifications), nothing else. One
 * thread, level-triggered, every ready connection handled per wake-up.
 *
 *   bench-echo SOCKET      serve until SIGTERM */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define BUF 65536

typedef struct Conn {
        int fd;
        size_t len;
        char buf[BUF];
} Conn;

static void conn_lines(Conn *c) {
        static const char reply[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n";
        char out[BUF];
        size_t o = 0, start = 0;
        char *nl;

        while ((nl = memchr(c->buf + start, '\n', c->len - start))) {
                size_t l = (size_t) (nl - (c->buf + start));

                if (memmem(c->buf + start, l, "\"id\"", 4) && o + sizeof reply < sizeof out) {
                        memcpy(out + o, reply, sizeof reply - 1);
                        o += sizeof reply - 1;
                }
                start += l + 1;
        }
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
        if (o > 0)
                (void) !write(c->fd, out, o);
}

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct epoll_event evs[256];
        int lfd, ep;

        if (argc != 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: bench-echo SOCKET\n");
                return 2;
        }
        signal(SIGPIPE, SIG_IGN); /* clients leave with answers in flight */
        strcpy(sa.sun_path, argv[1]);
        (void) unlink(argv[1]);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(lfd, 4096) < 0) {
                perror("listen");
                return 1;
        }
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &(struct epoll_event) { .events = EPOLLIN, .data.ptr = NULL }) < 0) {
                perror("epoll_ctl");
                return 1;
        }
        for (;;) {
                int n = epoll_wait(ep, evs, 256, -1);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return 1;
                for (int i = 0; i < n; i++) {
                        Conn *c = evs[i].data.ptr;
                        ssize_t k;

                        if (!c) {
                                int fd;

                                while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
                                        c = calloc(1, sizeof *c);
                                        if (!c)
                                                return 1;
                                        c->fd = fd;
                                        (void) epoll_ctl(ep, EPOLL_CTL_ADD, fd,
                                                         &(struct epoll_event) { .events = EPOLLIN, .data.ptr = c });
                                }
                                continue;
                        }
                        k = read(c->fd, c->buf + c->len, BUF - c->len);
                        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR) || (k > 0 && c->len + (size_t) k == BUF)) {
                                close(c->fd);
                                free(c);
                                continue;
                        }
                        if (k > 0) {
                                c->len += (size_t) k;
                                conn_lines(c);
                        }
                }
        }
}
