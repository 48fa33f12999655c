/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Sessions of another transport (the HTTP one, src/http): a Connection
 * without a socket. Input arrives whole (one message or batch per
 * mcp_session_feed), output leaves through the sink (connection.c), so
 * the router, calls, lifecycle and logging serve both transports alike. The
 * idle timeout closes an idle session as it closes an idle connection. */

#include <assert.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "mcp/connection.h"
#include "mcp/server-internal.h"

int mcp_session_new(McpServer *s, const McpPeerSink *sink, void *userdata, McpSession **ret) {
        Connection *c;

        assert(s);
        assert(sink);
        assert(sink->send);
        assert(ret);

        if (s->stopping)
                return -ESHUTDOWN;
        if (s->max_connections > 0 && s->n_connections >= s->max_connections)
                return -EBUSY;

        c = new0(Connection, 1);
        if (!c)
                return -ENOMEM;
        c->n_ref = 2; /* the server's list, the caller's */
        c->server = s;
        c->fd = -EBADF;
        c->sink = sink;
        c->sink_userdata = userdata;
        c->id = ++s->next_connection_id;
        c->log_level = LOG_INFO;
        c->last_activity = now_usec(CLOCK_MONOTONIC);

        LIST_PREPEND(connections, s->connections, c);
        s->n_connections++;
        log_debug("Session %u opened (%u connections open).", c->id, s->n_connections);
        connection_update_timeout(c);
        if (s->connections_changed)
                s->connections_changed(s, s->n_connections, s->connections_changed_userdata);

        *ret = c;
        return 0;
}

McpSession *mcp_session_unref(McpSession *s) {
        return connection_unref(s);
}

void mcp_session_feed(McpSession *c, const char *text, size_t n) {
        _unused_ _cleanup_(connection_unrefp) Connection *ref = connection_ref(c);
        char *copy;

        assert(c);
        if (c->closed || c->closing)
                return;
        c->last_activity = now_usec(CLOCK_MONOTONIC);
        /* the parser takes a mutable buffer */
        copy = malloc(n + 1);
        if (!copy) {
                log_oom();
                return;
        }
        memcpy(copy, text, n);
        copy[n] = 0;
        c->server->on_line(c, copy, n);
        free(copy);
        if (!c->closed) {
                connection_update_timeout(c);
                connection_maybe_finish(c);
        }
}

void mcp_session_close(McpSession *c) {
        assert(c);
        if (c->closed)
                return;
        c->sink = NULL; /* the client ended it: nobody to tell */
        connection_close(c, "ended by the client");
}

const char *mcp_session_get_protocol_version(const McpSession *c) {
        return c->protocol_version;
}

bool mcp_session_has_calls(const McpSession *c) {
        return c->calls;
}
