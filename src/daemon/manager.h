/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager: the one object that owns everything at run time (event loop,
 * config, MCP server, project registry, scope placer, bus service). There is
 * no other global state. */

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "basic/macro.h"
#include "bus/bus.h"
#include "tools/tools.h"
#include "config/config.h"
#include "http/http-server.h"
#include "mcp/mcp.h"
#include "project/project.h"
#include "worker/scope.h"

typedef struct Manager {
        sd_event *event;
        const LhConfig *config;

        ScopePlacer *placer;
        LhRegistry *registry;
        McpServer *mcp;
        HttpServer *http;       /* MCP over HTTP (daemon.http_listen, --listen-http, or activation) */
        int http_fd;            /* the socket named "http" passed by systemd, until started */
        const char *http_listen; /* --listen-http (wins over daemon.http_listen and activation) */
        ToolsContext *tools;
        BusService *bus;

        char *listen_path;      /* socket we bound ourselves (unlinked at exit), NULL if activated */
        dev_t listen_dev;       /* ... only while the path still is that socket: */
        ino_t listen_ino;       /* another daemon may own it by then */
        bool socket_activated;
        bool system_bus;        /* publish on the system bus (a system instance) */

        sd_event_source *idle_timer;
        sd_event_source *drain_timer;
        usec_t stop_deadline;
        bool stopping;
        int exit_code;
} Manager;

int manager_new(Manager **ret, const LhConfig *config);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Takes the socket from systemd (sd_listen_fds) or binds listen_path (NULL =
 * $XDG_RUNTIME_DIR/lean-host/mcp.sock), then starts every service. */
int manager_startup(Manager *m, const char *listen_path);

int manager_run(Manager *m);

