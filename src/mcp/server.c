/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The MCP server object: options, wiring its layers together (the method
 * and notification tables, the callbacks from connections up), shutdown.
 * The layers, bottom up: jsonrpc.c, connection.c, router.c, call.c,
 * lifecycle.c and dispatch.c, listener.c (see server-internal.h). Holds no
 * protocol logic of its own: what a line, a method or a call does is theirs. */

#include <fcntl.h>
#include <limits.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "mcp/call.h"
#include "mcp/connection.h"
#include "mcp/dispatch.h"
#include "mcp/lifecycle.h"
#include "mcp/mcp.h"
#include "mcp/router.h"
#include "mcp/server-internal.h"

/* Protocol choices where JSON-RPC/MCP leave room:
 *
 * - Requests other than initialize and ping before initialize: -32600 "not
 *   initialized". After the initialize answer every request is accepted, even
 *   before notifications/initialized. A second initialize: -32600.
 * - A structurally invalid message (not an object, bad "jsonrpc", "method"
 *   not a string, "params" not structured) gets -32600 even without an id,
 *   as JSON-RPC 2.0 says; a well-formed notification never gets a response,
 *   unknown ones are ignored. Responses from the client are ignored.
 * - Batches only for protocol 2025-03-26 (the one version that has them); the
 *   array answer goes out once every element, deferred tool calls included,
 *   is answered.
 * - notifications/cancelled: the cancel callback runs once; the owner still
 *   answers, and that answer is dropped (MCP: no response to a cancelled
 *   request).
 * - notifications/message: only to connections that got their initialize
 *   answer, at or above their level, "info" until logging/setLevel.
 * - Over max_connections, or out of descriptors: one error line (code
 *   -32000, id null), then close. A peer whose uid is neither ours nor root's:
 *   -32001, then close (mcp/peer.c).
 * - Input json-c would pass on changed is refused: invalid UTF-8 and lone
 *   surrogate escapes -32700, NUL in an id or the method -32600, in the tool
 *   name or an argument -32602 (mcp/utf8.c).
 * - Timeouts: an unfinished line (line_timeout), no initialize
 *   (handshake_timeout): error line, then close; an idle session with nothing
 *   in flight (idle_timeout): closed without a word.
 * - Integer ids are echoed exactly within 64 bits; json-c saturates larger
 *   ones (no crash, but the echo differs). NaN/Infinity are parse errors.
 */

#define MCP_DEFAULT_MAX_LINE_BYTES (UINT64_C(8) * 1024 * 1024)
#define MCP_DEFAULT_MAX_INPUT_BYTES (UINT64_C(64) * 1024 * 1024)
#define MCP_JSON_MAX_DEPTH 64

static const McpMethod methods[] = {
        { "initialize", method_initialize, true },
        { "ping", method_ping, true },
        { "tools/list", method_tools_list, false },
        { "tools/call", method_tools_call, false },
        { "logging/setLevel", method_logging_set_level, false },
};

static const McpNotification notifications[] = {
        { "notifications/initialized", notification_initialized },
        { "notifications/cancelled", call_notification_cancelled },
};

void mcp_server_stop_accepting(McpServer *s) {
        Connection *c, *next;

        if (!s)
                return;
        s->stopping = true;
        mcp_server_close_listeners(s);

        /* idle connections go now, the others once answered and flushed */
        for (c = s->connections; c; c = next) {
                next = c->next;
                connection_ref(c);
                connection_maybe_finish(c);
                next = c->closed ? next : c->next;
                connection_unref(c);
        }
}

bool mcp_server_is_drained(const McpServer *s) {
        if (!s)
                return true;
        if (s->n_calls > 0)
                return false;
        for (const Connection *c = s->connections; c; c = c->next)
                if (connection_out_pending(c) > 0)
                        return false;
        return true;
}

int mcp_server_new(McpServer **ret, sd_event *event, const McpServerOptions *opts) {
        _cleanup_(mcp_server_freep) McpServer *s = NULL;
        int r;

        s = new0(McpServer, 1);
        if (!s)
                return -ENOMEM;
        s->spare_fd = -EBADF;
        s->event = sd_event_ref(event);
        s->max_line_bytes = opts && opts->max_line_bytes > 0 ? opts->max_line_bytes : MCP_DEFAULT_MAX_LINE_BYTES;
        s->max_line_bytes = MIN(s->max_line_bytes, (uint64_t) INT_MAX - 1); /* json-c takes an int length */
        s->max_connections = opts ? opts->max_connections : 0;
        s->max_input_bytes = opts && opts->max_input_bytes > 0 ? opts->max_input_bytes : MCP_DEFAULT_MAX_INPUT_BYTES;
        s->max_input_bytes = MAX(s->max_input_bytes, s->max_line_bytes + 2); /* one full line always fits */
        s->line_timeout = opts ? opts->line_timeout_usec : 0;
        s->handshake_timeout = opts ? opts->handshake_timeout_usec : 0;
        s->idle_timeout = opts ? opts->idle_timeout_usec : 0;
        s->uid = geteuid();
        s->reject_log = s->peer_log = s->accept_log = LOG_RATELIMIT_INIT(MCP_LOG_INTERVAL_USEC, MCP_LOG_BURST);
        s->version_log = LOG_RATELIMIT_INIT(MCP_LOG_INTERVAL_USEC, MCP_LOG_BURST);
        s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        s->server_name = strdup(opts && opts->server_name ? opts->server_name : "lean-host");
        s->server_version = strdup(opts && opts->server_version ? opts->server_version : "0");
        if (!s->server_name || !s->server_version)
                return -ENOMEM;
        if (opts && opts->instructions) {
                s->instructions = strdup(opts->instructions);
                if (!s->instructions)
                        return -ENOMEM;
        }

        s->tokener = json_tokener_new_ex(MCP_JSON_MAX_DEPTH);
        if (!s->tokener)
                return -ENOMEM;
        json_tokener_set_flags(s->tokener, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);

        s->methods = methods;
        s->n_methods = ELEMENTSOF(methods);
        s->notifications = notifications;
        s->n_notifications = ELEMENTSOF(notifications);
        s->on_line = router_handle_line;
        s->on_connection_closed = call_connection_closed;

        r = lifecycle_init(s);
        if (r < 0)
                return r;
        r = dispatch_init(s, opts ? opts->tools : NULL, opts ? opts->n_tools : 0);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

McpServer *mcp_server_free(McpServer *s) {
        if (!s)
                return NULL;

        s->stopping = true;
        s->connections_changed = NULL; /* nobody to tell while going away */
        mcp_server_close_listeners(s);
        s->spare_fd = safe_close(s->spare_fd);
        while (s->connections)
                connection_close(s->connections, "server gone");

        /* Calls whose owners still hold them: their answers go nowhere now. */
        call_drop_all(s);

        dispatch_done(s);
        lifecycle_done(s);
        if (s->tokener)
                json_tokener_free(s->tokener);
        free(s->server_name);
        free(s->server_version);
        free(s->instructions);
        sd_event_unref(s->event);
        return mfree(s);
}

void mcp_server_set_connections_changed(McpServer *s, McpConnectionsChanged cb, void *userdata) {
        s->connections_changed = cb;
        s->connections_changed_userdata = userdata;
}

void mcp_server_set_result_text(McpServer *s, McpResultText f, void *userdata) {
        s->result_text = f;
        s->result_text_userdata = userdata;
}

unsigned mcp_server_get_n_connections(const McpServer *s) {
        return s ? s->n_connections : 0;
}
