/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One client connection: reading lines, the write queue and backpressure,
 * the input budget, timeouts, closing (connection.c). Complete lines go up
 * through McpServer.on_line, a close through McpServer.on_connection_closed. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "basic/time-util.h"
#include "mcp/mcp.h"

typedef struct Connection Connection;

struct Connection {
        unsigned n_ref;
        McpServer *server; /* NULL once closed */
        Connection *prev, *next;
        unsigned id;
        int fd;
        sd_event_source *source, *linger;
        sd_event_source *timeout; /* unfinished line, handshake, idle session */
        usec_t line_started;      /* first byte of the unfinished line, 0 = none */
        usec_t last_activity;     /* last byte read or answer sent */
        sd_event_source *resume; /* parses input held back by backpressure */

        char *in;
        size_t in_start, in_end, in_scanned, in_alloc;
        char *out;
        size_t out_start, out_end, out_alloc;

        /* the MCP session, kept by lifecycle.c; here only to pick the timeout */
        const char *protocol_version; /* NULL until initialize was answered */
        bool got_initialized;
        int log_level;

        bool input_eof;
        bool input_paused; /* complete lines wait in the buffer: too much output queued */
        bool closing;
        bool wr_shutdown;
        bool closed;

        McpCall *calls; /* unanswered calls (call.c); non-NULL keeps the connection open */

        /* a session of another transport (session.c): no fd, output to the sink */
        const McpPeerSink *sink;
        void *sink_userdata;
};

Connection *connection_ref(Connection *c);
Connection *connection_unref(Connection *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Connection *, connection_unref);

size_t connection_out_pending(const Connection *c);
/* Serializes msg (ownership taken) as one line into the output queue and
 * tries to write it right away. May close the connection. */
void connection_send(Connection *c, json_object *msg);
/* Close a connection that has nothing left to do: the client finished
 * sending, or the server is stopping. */
void connection_maybe_finish(Connection *c);
void connection_close(Connection *c, const char *why);
/* Re-arms the line/handshake/idle deadline after the state changed. */
void connection_update_timeout(Connection *c);
