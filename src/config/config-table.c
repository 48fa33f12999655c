/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stddef.h>

#include "basic/path-util.h"
#include "basic/string-table.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "config/config-internal.h"
#include "lh-build-config.h"

/* One row per key. Everything (defaults, file keys, env names, zero rules,
 * dump order, the source[] index) comes from this table, so a key added here
 * is parsed, validated, dumped and documented-by-dump in one place. */

/* Limits that keep unit conversions (KiB → bytes, s/ms → µs) from overflowing. */
#define MAX_KIB (UINT64_MAX / 1024)
#define MAX_MILLIS (UINT64_MAX / USEC_PER_MSEC / 2)
#define MAX_SECS (UINT64_MAX / USEC_PER_SEC / 2)
#define MAX_COUNT ((uint64_t) UINT32_MAX)
#define MAX_BYTES (UINT64_MAX / 2)

static bool path_is_absolute_or_empty(const char *s) {
        return s && (s[0] == 0 || s[0] == '/');
}

/* "" or ADDRESS:PORT; the address itself is checked when the listener starts */
static bool http_listen_is_valid(const char *s) {
        const char *colon = strrchr(s, ':');

        if (!s[0])
                return true;
        if (!colon || colon == s || !colon[1] || strlen(colon + 1) > 5)
                return false;
        return strspn(colon + 1, "0123456789") == strlen(colon + 1);
}

/* "" or "name[:port],name..." (src/http/http-auth.c) */
static bool http_hosts_are_valid(const char *s) {
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[], ") == strlen(s);
}

/* git's URL forms: scheme://…, [user@]host:path, or a local absolute path. */
static bool repl_source_is_valid(const char *s) {
        const char *colon;

        if (isempty(s))
                return false;
        if (s[0] == '/' || strstr(s, "://"))
                return true;
        colon = strchr(s, ':');
        return colon && colon > s && !memchr(s, '/', colon - s) && colon[1] != 0;
}

#define U64(k, e, field, d, zero, mn, mx)                                        \
        { .key = k, .env = "LEAN_HOST_MCP_" e, .type = CONFIG_TYPE_U64,          \
          .offset = offsetof(LhConfig, field), .def = (d), .zero_ok = (zero),    \
          .min = (mn), .max = (mx) }

const ConfigKey config_table[] = {
        U64("memory.import_switch_rss_soft_kib", "IMPORT_SWITCH_RSS_SOFT_KIB",
            import_switch_rss_soft_kib, 2 * KIB_PER_GIB, false, 0, MAX_KIB),
        U64("memory.worker_rss_post_job_restart_kib", "WORKER_RSS_POST_JOB_RESTART_KIB",
            worker_rss_post_job_restart_kib, 5 * KIB_PER_GIB, false, 0, MAX_KIB),
        U64("memory.worker_rss_hard_kill_kib", "WORKER_RSS_HARD_KILL_KIB",
            worker_rss_hard_kill_kib, 16 * KIB_PER_GIB, false, 0, MAX_KIB),
        U64("memory.worker_rss_sample_millis", "WORKER_RSS_SAMPLE_MILLIS",
            worker_rss_sample_millis, 250, false, 0, 60000),

        U64("cache.module_cache_rss_guard_kib", "MODULE_CACHE_RSS_GUARD_KIB",
            module_cache_rss_guard_kib, 2 * KIB_PER_GIB, false, 0, MAX_KIB),
        U64("cache.module_cache_max_bytes", "MODULE_CACHE_MAX_BYTES",
            module_cache_max_bytes, 32 * 1024 * 1024, false, 0, MAX_BYTES),
        U64("cache.module_cache_capacity", "MODULE_CACHE_CAPACITY",
            module_cache_capacity, 256, false, 0, MAX_COUNT),

        U64("project.request_timeout_millis", "REQUEST_TIMEOUT_MILLIS",
            request_timeout_millis, 120 * 1000, false, 0, MAX_MILLIS),
        U64("project.mailbox_capacity", "PROJECT_MAILBOX_CAPACITY",
            mailbox_capacity, 8, false, 0, MAX_COUNT),
        U64("project.restart_limit", "WORKER_RESTART_LIMIT",
            restart_limit, 3, false, 0, MAX_COUNT),
        U64("project.restart_window_secs", "WORKER_RESTART_WINDOW_SECS",
            restart_window_secs, 60, false, 0, MAX_SECS),
        { .key = "project.trusted_roots", .env = "LEAN_HOST_MCP_TRUSTED_ROOTS", .type = CONFIG_TYPE_STRV,
          .offset = offsetof(LhConfig, trusted_roots), .path_list = true },
        U64("project.forget_idle_secs", "PROJECT_FORGET_IDLE_SECS",
            project_forget_idle_secs, 3600, true, 0, MAX_SECS),
        U64("project.max_workers", "PROJECT_MAX_WORKERS",
            project_max_workers, 0, true, 0, 64),
        U64("project.pool_memory_kib", "PROJECT_POOL_MEMORY_KIB",
            project_pool_memory_kib, 0, true, 0, MAX_KIB),
        { .key = "project.warm_successor", .env = "LEAN_HOST_MCP_PROJECT_WARM_SUCCESSOR", .type = CONFIG_TYPE_BOOL,
          .offset = offsetof(LhConfig, project_warm_successor), .def = true },
        { .key = "project.prewarm_imports", .env = "LEAN_HOST_MCP_PROJECT_PREWARM_IMPORTS", .type = CONFIG_TYPE_STRV,
          .offset = offsetof(LhConfig, project_prewarm_imports) },

        { .key = "worker.command", .env = "LEAN_HOST_MCP_WORKER_COMMAND", .type = CONFIG_TYPE_STRV,
          .offset = offsetof(LhConfig, worker_command) },
        U64("worker.max_requests", "WORKER_MAX_REQUESTS",
            worker_max_requests, 64, false, 0, MAX_BYTES),
        U64("worker.max_imports", "WORKER_MAX_IMPORTS",
            worker_max_imports, 8, false, 0, MAX_COUNT),
        U64("worker.idle_secs", "WORKER_IDLE_SECS",
            worker_idle_secs, 600, true, 0, MAX_SECS),
        U64("worker.max_workers", "MAX_WORKERS",
            max_workers, 0, true, 0, MAX_COUNT),
        U64("worker.heavy_permits", "HEAVY_PERMITS",
            heavy_permits, 1, false, 0, MAX_COUNT),
        { .key = "worker.enforcement", .env = "LEAN_HOST_MCP_ENFORCEMENT", .type = CONFIG_TYPE_ENFORCEMENT,
          .offset = offsetof(LhConfig, enforcement), .def = ENFORCEMENT_AUTO },
        { .key = "worker.slice", .env = "LEAN_HOST_MCP_SLICE", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, slice), .def_str = "lean-host.slice" },
        U64("worker.stderr_max_bytes", "WORKER_STDERR_MAX_BYTES",
            worker_stderr_max_bytes, 65536, true, 0, MAX_BYTES),
        { .key = "worker.sandbox", .env = "LEAN_HOST_MCP_SANDBOX", .type = CONFIG_TYPE_SANDBOX,
          .offset = offsetof(LhConfig, sandbox), .def = SANDBOX_NONE },
        U64("worker.max_reply_bytes", "WORKER_MAX_REPLY_BYTES",
            worker_max_reply_bytes, 16 * 1024 * 1024, false, 4096, MAX_BYTES),

        U64("daemon.idle_exit_secs", "IDLE_EXIT_SECS",
            idle_exit_secs, 300, true, 0, MAX_SECS),
        U64("daemon.max_line_bytes", "MAX_LINE_BYTES",
            max_line_bytes, 8 * 1024 * 1024, false, 4096, MAX_BYTES),
        U64("daemon.max_connections", "MAX_CONNECTIONS",
            max_connections, 1024, false, 0, MAX_COUNT),
        { .key = "daemon.log_level", .env = "LEAN_HOST_MCP_LOG_LEVEL", .type = CONFIG_TYPE_LOG_LEVEL,
          .offset = offsetof(LhConfig, log_level), .def = LOG_INFO },
        U64("daemon.max_input_bytes", "MAX_INPUT_BYTES",
            max_input_bytes, 64 * 1024 * 1024, false, 4096, MAX_BYTES),
        U64("daemon.line_timeout_secs", "LINE_TIMEOUT_SECS",
            line_timeout_secs, 30, true, 0, MAX_SECS),
        U64("daemon.handshake_timeout_secs", "HANDSHAKE_TIMEOUT_SECS",
            handshake_timeout_secs, 60, true, 0, MAX_SECS),
        U64("daemon.connection_idle_secs", "CONNECTION_IDLE_SECS",
            connection_idle_secs, 3600, true, 0, MAX_SECS),
        U64("daemon.result_max_messages", "RESULT_MAX_MESSAGES",
            result_max_messages, 200, false, 0, MAX_COUNT),
        U64("daemon.result_max_message_bytes", "RESULT_MAX_MESSAGE_BYTES",
            result_max_message_bytes, 256 * 1024, false, 1024, MAX_BYTES),
        U64("daemon.progress_interval_secs", "PROGRESS_INTERVAL_SECS",
            progress_interval_secs, 15, true, 0, 3600),
        { .key = "daemon.http_listen", .env = "LEAN_HOST_MCP_HTTP_LISTEN", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, http_listen), .def_str = "",
          .check = http_listen_is_valid, .check_what = "ADDRESS:PORT (e.g. 127.0.0.1:8080), or \"\" for none" },
        { .key = "daemon.http_token_file", .env = "LEAN_HOST_MCP_HTTP_TOKEN_FILE", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, http_token_file), .def_str = "",
          .check = path_is_absolute_or_empty, .check_what = "an absolute path, or \"\" for no token" },
        U64("daemon.http_max_sessions", "HTTP_MAX_SESSIONS",
            http_max_sessions, 256, false, 1, MAX_COUNT),
        { .key = "daemon.http_allowed_hosts", .env = "LEAN_HOST_MCP_HTTP_ALLOWED_HOSTS", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, http_allowed_hosts), .def_str = "",
          .check = http_hosts_are_valid, .check_what = "host names, host:port or [IPv6] separated by commas" },

        /* REPL provisioning (lean/provision.h) and elan (lean/toolchain.h); "" = the built-in default */
        { .key = "repl.source", .env = "LEAN_HOST_MCP_REPL_SOURCE", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, repl_source), .def_str = "https://github.com/leanprover-community/repl",
          .check = repl_source_is_valid, .check_what = "a git URL or an absolute path" },
        { .key = "repl.revisions_file", .env = "LEAN_HOST_MCP_REPL_REVISIONS_FILE", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, repl_revisions_file), .def_str = DATADIR "/lean-host/repl-revisions",
          .check = path_is_absolute_or_empty, .check_what = "an absolute path" },
        { .key = "repl.cache_dir", .env = "LEAN_HOST_MCP_REPL_CACHE_DIR", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, repl_cache_dir), .def_str = "",
          .check = path_is_absolute_or_empty, .check_what = "an absolute path, or \"\" for $XDG_CACHE_HOME/lean-host/repl" },
        { .key = "lean.elan_home", .env = "LEAN_HOST_MCP_ELAN_HOME", .type = CONFIG_TYPE_STRING,
          .offset = offsetof(LhConfig, elan_home), .def_str = "",
          .check = path_is_absolute_or_empty, .check_what = "an absolute path, or \"\" for $ELAN_HOME or ~/.elan" },
};

_Static_assert(ELEMENTSOF(config_table) <= ELEMENTSOF(((LhConfig *) NULL)->source),
               "LhConfig.source[] too small for the key table");

const size_t config_table_n = ELEMENTSOF(config_table);

static const char *const config_source_table[_CONFIG_SOURCE_MAX] = {
        [CONFIG_SOURCE_DEFAULT] = "default",
        [CONFIG_SOURCE_FILE] = "file",
        [CONFIG_SOURCE_ENV] = "env",
        [CONFIG_SOURCE_CMDLINE] = "command line",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(config_source, ConfigSource);

static const char *const enforcement_request_table[_ENFORCEMENT_MAX] = {
        [ENFORCEMENT_AUTO] = "auto",
        [ENFORCEMENT_SCOPE] = "scope",
        [ENFORCEMENT_PROCESS] = "process",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(enforcement_request, EnforcementRequest);
DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(enforcement_request, int);

size_t config_n_keys(void) {
        return config_table_n;
}

const char *config_key_name(size_t idx) {
        return idx < config_table_n ? config_table[idx].key : NULL;
}

const char *config_key_env(size_t idx) {
        return idx < config_table_n ? config_table[idx].env : NULL;
}

int config_key_index(const char *name) {
        for (size_t i = 0; name && i < config_table_n; i++)
                if (streq(name, config_table[i].key) || streq(name, config_table[i].env))
                        return (int) i;
        return -ENOENT;
}

ConfigSource config_get_source(const LhConfig *c, const char *name) {
        int i = config_key_index(name);

        assert(c);

        return i < 0 ? _CONFIG_SOURCE_MAX : c->source[i];
}
