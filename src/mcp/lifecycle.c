/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The MCP lifecycle of a connection: initialize (version negotiation: the
 * client's version if we speak it, else our preferred one; a second
 * initialize is -32600), notifications/initialized, ping, logging/setLevel,
 * and notifications/message to initialized clients at or above their level
 * ("info" until they set one). The session state lives in the Connection
 * (protocol_version, got_initialized, log_level). Must not know tools,
 * calls or the framing. */

#include <stdio.h>

#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/string-table.h"
#include "mcp/jsonrpc.h"
#include "mcp/lifecycle.h"
#include "mcp/schema.h"
#include "mcp/server-internal.h"

/* Preferred first: answered to clients asking for a version we do not speak. */
static const char *const protocol_versions[] = { MCP_PROTOCOL_VERSION, "2025-03-26", "2025-11-25" };

/* MCP logging levels are the syslog levels, by name. */
static const char *const mcp_log_level_table[] = {
        [LOG_EMERG] = "emergency", [LOG_ALERT] = "alert",   [LOG_CRIT] = "critical", [LOG_ERR] = "error",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info",     [LOG_DEBUG] = "debug",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP(mcp_log_level, int);

#define INITIALIZE_PARAMS_SCHEMA                                                                \
        "{\"type\": \"object\", \"required\": [\"protocolVersion\"], \"properties\": {"         \
        "\"protocolVersion\": {\"type\": \"string\"}, \"capabilities\": {\"type\": \"object\"}, " \
        "\"clientInfo\": {\"type\": \"object\"}}}"
#define SET_LEVEL_PARAMS_SCHEMA                                                                 \
        "{\"type\": \"object\", \"required\": [\"level\"], \"properties\": {"                   \
        "\"level\": {\"type\": \"string\", \"enum\": [\"debug\", \"info\", \"notice\", "        \
        "\"warning\", \"error\", \"critical\", \"alert\", \"emergency\"]}}}"

/* Client strings go to the log only when they cannot forge a line. */
static const char *printable_or(const char *t, const char *fallback) {
        if (!t)
                return fallback;
        for (const char *p = t; *p; p++)
                if ((unsigned char) *p < 0x20 || (unsigned char) *p >= 0x7f)
                        return fallback;
        return t;
}

int lifecycle_init(McpServer *s) {
        int r;

        r = schema_parse(INITIALIZE_PARAMS_SCHEMA, "initialize", &s->initialize_schema);
        if (r < 0)
                return r;
        return schema_parse(SET_LEVEL_PARAMS_SCHEMA, "logging/setLevel", &s->set_level_schema);
}

void lifecycle_done(McpServer *s) {
        json_object_put(s->initialize_schema);
        json_object_put(s->set_level_schema);
        s->initialize_schema = s->set_level_schema = NULL;
}

void method_initialize(Connection *c, Batch *b, json_object *id, json_object *params) {
        McpServer *s = c->server;
        json_object *v, *result, *caps, *tools, *info;
        const char *version = protocol_versions[0], *asked;

        if (c->protocol_version) {
                emit_error(c, b, id, JSONRPC_INVALID_REQUEST, "invalid request: already initialized");
                return;
        }
        if (!check_params(c, b, id, s->initialize_schema, params))
                return;

        (void) json_object_object_get_ex(params, "protocolVersion", &v);
        asked = json_object_get_string(v);
        for (size_t i = 0; i < ELEMENTSOF(protocol_versions); i++)
                if (streq(asked, protocol_versions[i]))
                        version = protocol_versions[i];
        if (!streq(asked, version)) {
                /* As the spec says (lifecycle, "Version Negotiation"): answer with
                 * a version we speak, the client disconnects if it cannot speak
                 * it. Nothing in the answer says more; the log does, for whoever
                 * wonders why an old client went away or misbehaves. */
                json_object *ci = NULL, *cn = NULL;

                if (json_object_object_get_ex(params, "clientInfo", &ci))
                        (void) json_object_object_get_ex(ci, "name", &cn);
                log_ratelimit_notice(&s->version_log,
                                     "Connection %u: client %.64s asked for MCP protocol version %.32s, which this "
                                     "server does not speak; answering with %s.", c->id,
                                     printable_or(json_object_is_type(cn, json_type_string) ? json_object_get_string(cn)
                                                                                             : NULL, "(unnamed)"),
                                     printable_or(asked, "(unprintable)"), version);
        }

        result = json_object_new_object();
        caps = json_object_new_object();
        tools = json_object_new_object();
        info = json_object_new_object();
        /* each json_add() takes its value, also on failure */
        if (!result || !caps || !tools || !info ||
            json_add(tools, "listChanged", json_object_new_boolean(false)) < 0 ||
            json_add(caps, "tools", TAKE_PTR(tools)) < 0 ||
            json_add(caps, "logging", json_object_new_object()) < 0 ||
            json_add(info, "name", json_object_new_string(s->server_name)) < 0 ||
            json_add(info, "version", json_object_new_string(s->server_version)) < 0 ||
            json_add(result, "protocolVersion", json_object_new_string(version)) < 0 ||
            json_add(result, "capabilities", TAKE_PTR(caps)) < 0 ||
            json_add(result, "serverInfo", TAKE_PTR(info)) < 0 ||
            (s->instructions && json_add(result, "instructions", json_object_new_string(s->instructions)) < 0)) {
                json_object_put(result);
                json_object_put(caps);
                json_object_put(tools);
                json_object_put(info);
                log_oom();
                emit_error(c, b, id, JSONRPC_INTERNAL_ERROR, "out of memory");
                return;
        }

        c->protocol_version = version;
        emit_result(c, b, id, result);
}

void method_logging_set_level(Connection *c, Batch *b, json_object *id, json_object *params) {
        json_object *v;
        int level;

        if (!check_params(c, b, id, c->server->set_level_schema, params))
                return;
        (void) json_object_object_get_ex(params, "level", &v);
        level = mcp_log_level_from_string(json_object_get_string(v));
        if (level >= 0) /* the schema allows only the names */
                c->log_level = level;
        emit_result(c, b, id, json_object_new_object());
}

void method_ping(Connection *c, Batch *b, json_object *id, json_object *params) {
        emit_result(c, b, id, json_object_new_object());
}

void notification_initialized(Connection *c, json_object *params) {
        if (c->protocol_version)
                c->got_initialized = true;
}

void mcp_server_broadcast_log(McpServer *s, int syslog_level, const char *logger, json_object *data) {
        Connection *c, *next;

        if (!s)
                return;
        syslog_level = MIN(MAX(syslog_level, LOG_EMERG), LOG_DEBUG);

        for (c = s->connections; c; c = next) {
                json_object *msg, *params;

                next = c->connections_next;
                /* only to initialized clients, at or above the level they set (none until they do) */
                if (c->closing || !c->protocol_version || syslog_level > c->log_level)
                        continue;

                params = json_object_new_object();
                if (!params ||
                    json_add(params, "level", json_object_new_string(mcp_log_level_to_string(syslog_level))) < 0 ||
                    (logger && json_add(params, "logger", json_object_new_string(logger)) < 0) ||
                    json_add_nullable(params, "data", json_object_get(data)) < 0) {
                        json_object_put(params);
                        log_oom();
                        return;
                }
                msg = jsonrpc_notification_new("notifications/message", params);
                if (!msg) {
                        log_oom();
                        return;
                }

                connection_ref(c);
                connection_send(c, msg);
                next = c->closed ? next : c->connections_next;
                connection_unref(c);
        }
}
