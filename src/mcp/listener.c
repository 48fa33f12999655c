/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Accepting connections: who is served (peer uid), how many (the connection
 * limit), and what happens when descriptors run out (a spare one is given up
 * to accept and refuse, then accepting pauses; nothing spins on EMFILE).
 * Every refusal is one JSON-RPC error line, logged rate-limited. */

#include <fcntl.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mcp/peer.h"
#include "mcp/server-internal.h"

/* After accept() fails for lack of fds/memory: pause accepting this long. */
#define MCP_ACCEPT_BACKOFF_USEC (250 * USEC_PER_MSEC)
#define MCP_ACCEPT_BURST 64
#define UID_INVALID_VALUE ((uid_t) -1)

static void server_set_accepting(McpServer *s, bool on) {
        for (size_t i = 0; i < s->n_listeners; i++)
                (void) sd_event_source_set_enabled(s->listeners[i].source, on ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_accept_backoff(sd_event_source *source, uint64_t usec, void *userdata) {
        McpServer *s = userdata;

        s->accept_backoff = sd_event_source_disable_unref(s->accept_backoff);
        if (!s->stopping)
                server_set_accepting(s, true);
        return 0;
}

static void server_reject_busy(McpServer *s, int fd) {
        char msg[128];

        log_ratelimit_warning(&s->reject_log, "Refusing a connection: %u open, limit %" PRIu64 ".",
                              s->n_connections, s->max_connections);
        snprintf(msg, sizeof msg, "server busy: too many connections (limit %" PRIu64 ")", s->max_connections);
        mcp_peer_refuse(fd, JSONRPC_SERVER_BUSY, msg);
}

/* Out of descriptors: give up the spare one, take the waiting connection
 * and refuse it, take the spare back. The client gets an answer and the
 * listener does not stay readable (no busy loop on EMFILE). */
static bool server_refuse_with_spare(McpServer *s, int listen_fd) {
        int cfd;

        if (s->spare_fd < 0)
                return false;
        s->spare_fd = safe_close(s->spare_fd);
        cfd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0)
                mcp_peer_refuse(cfd, JSONRPC_SERVER_BUSY, "server busy: out of file descriptors, retry later");
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        return cfd >= 0;
}

static void server_accept_fd(McpServer *s, int cfd) {
        uid_t peer = UID_INVALID_VALUE;
        int r;

        r = mcp_peer_allowed(cfd, s->uid, &peer);
        if (r <= 0) {
                char msg[160];

                if (r < 0)
                        log_ratelimit_warning_errno(&s->peer_log, r, "Refusing a connection: cannot read its credentials: %m");
                else
                        log_ratelimit_warning(&s->peer_log, "Refusing a connection from uid %u: only uid %u (and root) may connect.",
                                              (unsigned) peer, (unsigned) s->uid);
                snprintf(msg, sizeof msg, "permission denied: this lean-hostd serves uid %u only", (unsigned) s->uid);
                mcp_peer_refuse(cfd, JSONRPC_PERMISSION_DENIED, msg);
                return;
        }
        if (s->max_connections > 0 && s->n_connections >= s->max_connections) {
                server_reject_busy(s, cfd);
                return;
        }
        (void) mcp_connection_new(s, cfd);
}

static int on_listener_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        McpServer *s = userdata;
        int r;

        for (unsigned i = 0; i < MCP_ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN)
                                break;
                        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                log_ratelimit_warning_errno(&s->accept_log, errno,
                                                            "Cannot accept connections (%m), refusing them for %" PRIu64 " ms.",
                                                            MCP_ACCEPT_BACKOFF_USEC / USEC_PER_MSEC);
                                if (errno == EMFILE && server_refuse_with_spare(s, fd))
                                        continue;
                                server_set_accepting(s, false);
                                if (!s->accept_backoff) {
                                        r = sd_event_add_time_relative(s->event, &s->accept_backoff, CLOCK_MONOTONIC,
                                                                       MCP_ACCEPT_BACKOFF_USEC, 0, on_accept_backoff, s);
                                        if (r < 0)
                                                server_set_accepting(s, true);
                                }
                                break;
                        }
                        log_ratelimit_warning_errno(&s->accept_log, errno, "accept() failed: %m");
                        break;
                }
                server_accept_fd(s, cfd);
        }
        return 0;
}

int mcp_server_add_listener(McpServer *s, int fd) {
        _cleanup_close_ int lfd = fd;
        int type = 0, flags;
        socklen_t l = sizeof type;
        Listener *n;
        int r;

        if (getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
                return -errno;
        if (type != SOCK_STREAM)
                return -EPROTOTYPE;

        flags = fcntl(lfd, F_GETFL);
        if (flags < 0 || fcntl(lfd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;
        flags = fcntl(lfd, F_GETFD);
        if (flags < 0 || fcntl(lfd, F_SETFD, flags | FD_CLOEXEC) < 0)
                return -errno;

        n = realloc(s->listeners, (s->n_listeners + 1) * sizeof(Listener));
        if (!n)
                return -ENOMEM;
        s->listeners = n;

        r = sd_event_add_io(s->event, &n[s->n_listeners].source, lfd, EPOLLIN, on_listener_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(n[s->n_listeners].source, "mcp-listener");
        if (s->stopping || s->accept_backoff)
                (void) sd_event_source_set_enabled(n[s->n_listeners].source, SD_EVENT_OFF);
        n[s->n_listeners].fd = TAKE_FD(lfd);
        s->n_listeners++;
        return 0;
}

void mcp_server_close_listeners(McpServer *s) {
        for (size_t i = 0; i < s->n_listeners; i++) {
                sd_event_source_disable_unref(s->listeners[i].source);
                safe_close(s->listeners[i].fd);
        }
        s->listeners = mfree(s->listeners);
        s->n_listeners = 0;
        s->accept_backoff = sd_event_source_disable_unref(s->accept_backoff);
}

