/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "basic/argv-util.h"
#include "basic/log.h"
#include "config/config.h"
#include "daemon/manager.h"
#include "project/project.h"
#include "worker/worker.h"
#include "worker/sandbox.h"
#include "lh-build-config.h"

extern char **environ;

typedef struct Args {
        const char *listen_path;
        const char *listen_http;
        const char *config_path;
        const char *log_level;
        bool dump_config;
        bool system_bus;
} Args;

static void help(void) {
        printf("lean-hostd [OPTIONS...]\n\n"
               "Per-user daemon that runs supervised Lean 4 workers and speaks MCP\n"
               "(newline-delimited JSON-RPC 2.0) on a Unix socket.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "     --listen PATH       Bind this socket instead of using the one systemd passes\n"
               "                         (default without systemd: $XDG_RUNTIME_DIR/lean-host/mcp.sock,\n"
               "                         without it /run/user/UID/..., else /tmp/lean-host-UID/...)\n"
               "     --listen-http ADDRESS:PORT\n"
               "                         Also serve MCP over Streamable HTTP on http://ADDRESS:PORT/mcp\n"
               "                         (e.g. 127.0.0.1:8080; overrides daemon.http_listen)\n"
               "     --config PATH       Read this config file (default: $XDG_CONFIG_HOME/lean-host/config.json,\n"
               "                         then " SYSCONFDIR "/lean-host/config.json)\n"
               "     --dump-config       Print the resolved configuration with each value's source, then exit\n"
               "     --log-level LEVEL   debug, info, notice, warning, error (overrides the config)\n"
               "     --system-bus        Publish org.leanhost.Host1 on the system bus (a system instance)\n"
               "                         instead of the user bus\n"
               "\nSee lean-hostd(8) and lean-host.conf(5).\n");
}

/* 0: go on; 1: done, exit 0; <0: usage error (already printed). */
static int parse_argv(int argc, char *argv[], Args *a) {
        enum { ARG_LISTEN = ARGV_FIRST_OPTION, ARG_CONFIG, ARG_DUMP_CONFIG, ARG_LOG_LEVEL, ARG_SYSTEM_BUS, ARG_LISTEN_HTTP };
        static const struct option options[] = {
                ARGV_COMMON_OPTIONS,
                { "listen", required_argument, NULL, ARG_LISTEN },
                { "listen-http", required_argument, NULL, ARG_LISTEN_HTTP },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "dump-config", no_argument, NULL, ARG_DUMP_CONFIG },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "system-bus", no_argument, NULL, ARG_SYSTEM_BUS },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_LISTEN:
                        if (optarg[0] != '/') {
                                fprintf(stderr, "lean-hostd: --listen needs an absolute path, got '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        a->listen_path = optarg;
                        break;
                case ARG_LISTEN_HTTP:
                        a->listen_http = optarg;
                        break;
                case ARG_CONFIG:
                        a->config_path = optarg;
                        break;
                case ARG_DUMP_CONFIG:
                        a->dump_config = true;
                        break;
                case ARG_SYSTEM_BUS:
                        a->system_bus = true;
                        break;
                case ARG_LOG_LEVEL:
                        if (log_level_from_string(optarg) < 0) {
                                fprintf(stderr, "lean-hostd: unknown log level '%s'.\n", optarg);
                                return -EINVAL;
                        }
                        a->log_level = optarg;
                        break;
                default:
                        return argv_common_option(c, "lean-hostd", help);
                }
        return argv_no_positional("lean-hostd", argc, argv);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *error = NULL;
        LhConfig config = {};
        Args args = {};
        sigset_t mask;
        int r;

        log_setup("lean-hostd", LOG_TARGET_AUTO);

        r = parse_argv(argc, argv, &args);
        if (r != 0)
                return r > 0 ? EXIT_SUCCESS : 2;

        r = config_load(&config, args.config_path, environ, &error);
        if (r < 0) {
                log_error("Invalid configuration: %s", strna(error));
                config_done(&config);
                return 78; /* EX_CONFIG */
        }
        if (args.log_level)
                config.log_level = log_level_from_string(args.log_level);
        log_set_max_level(config.log_level);

        if (args.dump_config) {
                config_dump(&config, stdout);
                config_done(&config);
                return EXIT_SUCCESS;
        }

        /* Before the loop runs: a sandbox that cannot work is a configuration
         * error (EX_CONFIG, no restart loop), not a failure of every call. */
        r = sandbox_probe(config.sandbox, NULL, 5 * USEC_PER_SEC, &error);
        if (r < 0) {
                log_error("Invalid configuration: %s", error ?: "worker.sandbox: the sandbox check failed");
                config_done(&config);
                return 78; /* EX_CONFIG */
        }
        log_info("Worker sandbox: %s.", sandbox_mode_to_string(config.sandbox));

        /* sd-event wants these blocked before it watches them (SIGCHLD:
         * worker child watches). A writer to a gone client gets EPIPE. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = manager_new(&m, &config);
        if (r >= 0) {
                m->system_bus = args.system_bus;
                m->http_listen = args.listen_http;
        }
        if (r >= 0)
                r = manager_startup(m, args.listen_path);
        if (r >= 0)
                /* the one line that says how workers are confined, for the journal */
                log_info("Workers: enforcement %s (worker.enforcement=%s), sandbox %s, slice %s.",
                         strna(enforcement_mode_to_string(registry_get_enforcement(m->registry))),
                         strna(enforcement_request_to_string(config.enforcement)),
                         strna(sandbox_mode_to_string(config.sandbox)), strna(config.slice));
        if (r >= 0)
                r = manager_run(m);

        m = manager_free(m);
        config_done(&config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
