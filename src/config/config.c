/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "config/config.h"
#include "lh-build-config.h"

static inline void json_putp(json_object **j) {
        json_object_put(*j);
}

/* One row per key. Everything (defaults, file keys, env names, zero rules,
 * dump order, the source[] index) comes from this table, so a key added here
 * is parsed, validated, dumped and documented-by-dump in one place. */

typedef enum ConfigType {
        CONFIG_TYPE_U64,
        CONFIG_TYPE_BOOL,
        CONFIG_TYPE_STRING,
        CONFIG_TYPE_STRV,
        CONFIG_TYPE_ENFORCEMENT,
        CONFIG_TYPE_LOG_LEVEL,
        CONFIG_TYPE_SANDBOX,
} ConfigType;

typedef struct ConfigKey {
        const char *key;      /* "section.name" in the file */
        const char *env;      /* LEAN_HOST_MCP_* */
        ConfigType type;
        size_t offset;        /* into LhConfig */
        uint64_t def;         /* u64/bool/enum/log level default */
        const char *def_str;  /* string default (NULL: none) */
        bool zero_ok;         /* 0 means "never"/"auto" rather than breaking things */
        uint64_t min;         /* beyond the zero rule; 0 = none */
        uint64_t max;         /* inclusive; always < UINT64_MAX so clamped JSON overflows fail */
        bool (*check)(const char *s); /* string keys other than the slice: validity */
        const char *check_what;       /* … and what it wants, for the error */
        bool path_list;       /* STRV of absolute paths or "*", ':'-separated as text; may be empty */
} ConfigKey;

/* Limits that keep unit conversions (KiB → bytes, s/ms → µs) from overflowing. */
#define MAX_KIB (UINT64_MAX / 1024)
#define MAX_MILLIS (UINT64_MAX / USEC_PER_MSEC / 2)
#define MAX_SECS (UINT64_MAX / USEC_PER_SEC / 2)
#define MAX_COUNT ((uint64_t) UINT32_MAX)
#define MAX_BYTES (UINT64_MAX / 2)

static bool path_is_absolute_or_empty(const char *s) {
        return s && (s[0] == 0 || s[0] == '/');
}

/* git's URL forms: scheme://…, [user@]host:path, or a local absolute path. */
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

static const ConfigKey config_table[] = {
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

#define MAX_WORKERS_AUTO_MAX 8

static const char *const config_source_table[_CONFIG_SOURCE_MAX] = {
        [CONFIG_SOURCE_DEFAULT] = "default",
        [CONFIG_SOURCE_FILE] = "file",
        [CONFIG_SOURCE_ENV] = "env",
        [CONFIG_SOURCE_CMDLINE] = "command line",
};

const char *config_source_to_string(ConfigSource s) {
        if ((unsigned) s >= _CONFIG_SOURCE_MAX)
                return NULL;
        return config_source_table[s];
}

static const char *const enforcement_table[_ENFORCEMENT_MAX] = {
        [ENFORCEMENT_AUTO] = "auto",
        [ENFORCEMENT_SCOPE] = "scope",
        [ENFORCEMENT_PROCESS] = "process",
};

const char *enforcement_request_to_string(EnforcementRequest e) {
        if ((unsigned) e >= _ENFORCEMENT_MAX)
                return NULL;
        return enforcement_table[e];
}

int enforcement_request_from_string(const char *s) {
        for (size_t i = 0; s && i < ELEMENTSOF(enforcement_table); i++)
                if (streq(s, enforcement_table[i]))
                        return (int) i;
        return -EINVAL;
}

size_t config_n_keys(void) {
        return ELEMENTSOF(config_table);
}

const char *config_key_name(size_t idx) {
        return idx < ELEMENTSOF(config_table) ? config_table[idx].key : NULL;
}

const char *config_key_env(size_t idx) {
        return idx < ELEMENTSOF(config_table) ? config_table[idx].env : NULL;
}

int config_key_index(const char *name) {
        for (size_t i = 0; name && i < ELEMENTSOF(config_table); i++)
                if (streq(name, config_table[i].key) || streq(name, config_table[i].env))
                        return (int) i;
        return -ENOENT;
}

ConfigSource config_get_source(const LhConfig *c, const char *name) {
        int i = config_key_index(name);
        return i < 0 ? _CONFIG_SOURCE_MAX : c->source[i];
}

static size_t key_index(const ConfigKey *k) {
        return (size_t) (k - config_table);
}

static void *field(LhConfig *c, const ConfigKey *k) {
        return (uint8_t *) c + k->offset;
}

static const void *field_const(const LhConfig *c, const ConfigKey *k) {
        return (const uint8_t *) c + k->offset;
}

/* "LEAN_HOST_MCP_X (env): msg" / "memory.x (file /p): msg" / "memory.x (default): msg" */
static int config_error(char **ret_error, int error, const ConfigKey *k, ConfigSource source,
                        const char *path, const char *format, ...) _printf_(6, 7);
static int config_error(char **ret_error, int error, const ConfigKey *k, ConfigSource source,
                        const char *path, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        char *s;
        va_list ap;
        int r;

        if (!ret_error)
                return error;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;

        if (source == CONFIG_SOURCE_ENV)
                r = asprintf(&s, "%s (env): %s", k->env, msg);
        else if (source == CONFIG_SOURCE_FILE)
                r = asprintf(&s, "%s (file %s): %s", k->key, strna(path), msg);
        else
                r = asprintf(&s, "%s (%s): %s", k->key, config_source_to_string(source), msg);
        if (r < 0)
                return -ENOMEM;

        free(*ret_error);
        *ret_error = s;
        return error;
}

/* Errors about the file as a whole (syntax, encoding). */
static int file_error(char **ret_error, int error, const char *path, const char *format, ...) _printf_(4, 5);
static int file_error(char **ret_error, int error, const char *path, const char *format, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        char *s;
        int r;

        if (!ret_error)
                return error;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0 || asprintf(&s, "file %s: %s", path, msg) < 0)
                return -ENOMEM;
        free(*ret_error);
        *ret_error = s;
        return error;
}

static void key_free_value(LhConfig *c, const ConfigKey *k) {
        if (k->type == CONFIG_TYPE_STRING) {
                char **p = field(c, k);
                *p = mfree(*p);
        } else if (k->type == CONFIG_TYPE_STRV) {
                char ***p = field(c, k);
                *p = strv_free(*p);
        }
}

/* ---- MemTotal → max_workers ------------------------------------------- */

int config_read_memtotal_kib(const char *meminfo_path, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        unsigned long long v;
        int r;

        r = read_full_file(meminfo_path ?: "/proc/meminfo", 0, &text, NULL);
        if (r < 0)
                return r;
        p = strstr(text, "MemTotal:");
        if (!p || (p != text && p[-1] != '\n'))
                return -EBADMSG;
        if (sscanf(p, "MemTotal: %llu kB", &v) != 1 || v == 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

uint64_t config_auto_max_workers(uint64_t memtotal_kib, uint64_t post_job_kib) {
        uint64_t n;

        if (post_job_kib == 0)
                return 1;
        n = memtotal_kib / post_job_kib;
        return MIN(MAX(n, (uint64_t) 1), (uint64_t) MAX_WORKERS_AUTO_MAX);
}

static void config_resolve_max_workers(LhConfig *c) {
        uint64_t mem;

        if (c->max_workers != 0)
                return;
        /* Without /proc/meminfo we cannot size it; one worker is the safe guess. */
        if (config_read_memtotal_kib(NULL, &mem) < 0)
                c->max_workers = 1;
        else
                c->max_workers = config_auto_max_workers(mem, c->worker_rss_post_job_restart_kib);
}

/* ---- defaults ----------------------------------------------------------- */

static void config_set_defaults_raw(LhConfig *c) {
        *c = (LhConfig) {};
        for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                const ConfigKey *k = config_table + i;

                switch (k->type) {
                case CONFIG_TYPE_U64:
                        *(uint64_t *) field(c, k) = k->def;
                        break;
                case CONFIG_TYPE_BOOL:
                        *(bool *) field(c, k) = k->def;
                        break;
                case CONFIG_TYPE_STRING:
                        /* strdup failing here leaves NULL: config_validate catches it */
                        *(char **) field(c, k) = k->def_str ? strdup(k->def_str) : NULL;
                        break;
                case CONFIG_TYPE_STRV:
                        /* a path list is empty, not unset ("[]" in the dump); strdup-style OOM leaves NULL, also empty */
                        *(char ***) field(c, k) = k->path_list ? new0(char *, 1) : NULL;
                        break;
                case CONFIG_TYPE_ENFORCEMENT:
                        *(EnforcementRequest *) field(c, k) = (EnforcementRequest) k->def;
                        break;
                case CONFIG_TYPE_LOG_LEVEL:
                        *(int *) field(c, k) = (int) k->def;
                        break;
                case CONFIG_TYPE_SANDBOX:
                        *(SandboxMode *) field(c, k) = (SandboxMode) k->def;
                        break;
                }
                c->source[i] = CONFIG_SOURCE_DEFAULT;
        }
}

void config_init_defaults(LhConfig *c) {
        config_set_defaults_raw(c);
        config_resolve_max_workers(c);
}

void config_done(LhConfig *c) {
        if (!c)
                return;
        for (size_t i = 0; i < ELEMENTSOF(config_table); i++)
                key_free_value(c, config_table + i);
        c->config_file = mfree(c->config_file);
}

/* ---- value parsing ------------------------------------------------------ */

/* Plain decimal digits only: no sign, no spaces, no hex/octal, no suffix. */
static int parse_u64_text(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                if (v > (UINT64_MAX - (uint64_t) (*p - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        *ret = v;
        return 0;
}

static int parse_bool_text(const char *s) {
        static const char *const yes[] = { "1", "yes", "true", "on" }, *const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (streq(s, yes[i]))
                        return 1;
                if (streq(s, no[i]))
                        return 0;
        }
        return -EINVAL;
}

static int check_u64_range(const ConfigKey *k, uint64_t v, ConfigSource source, const char *path,
                           char **ret_error) {
        if (v == 0 && !k->zero_ok)
                return config_error(ret_error, -EINVAL, k, source, path, "must be > 0");
        if (k->min > 0 && v < k->min)
                return config_error(ret_error, -ERANGE, k, source, path,
                                    "%" PRIu64 " is too small, must be >= %" PRIu64, v, k->min);
        if (v > k->max)
                return config_error(ret_error, -ERANGE, k, source, path,
                                    "%" PRIu64 " is too large, must be <= %" PRIu64, v, k->max);
        return 0;
}

/* A systemd slice name: "name.slice", unit-name characters only. */
static bool slice_name_is_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n <= strlen(".slice") || n > 255 || !streq(s + n - strlen(".slice"), ".slice"))
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\", *p))
                        return false;
        return true;
}

/* project.trusted_roots: "*" or absolute paths. */
static int path_list_check(const ConfigKey *k, char **l, ConfigSource source, const char *path,
                           char **ret_error) {
        STRV_FOREACH(s, l)
                if (!streq(*s, "*") && !path_is_absolute(*s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "'%s' is neither an absolute path nor *", *s);
        return 0;
}

/* "a:b::c" → ["a", "b", "c"] */
static int path_list_split(const char *s, char ***ret) {
        _cleanup_strv_free_ char **l = new0(char *, 1);

        if (!l)
                return -ENOMEM;
        for (const char *p = s; *p;) {
                size_t n = strcspn(p, ":");

                if (n > 0 && strv_consume(&l, strndup(p, n)) < 0)
                        return -ENOMEM;
                p += n;
                p += *p == ':';
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int command_check(const ConfigKey *k, char **argv, ConfigSource source, const char *path,
                         char **ret_error) {
        if (k->path_list)
                return path_list_check(k, argv, source, path, ret_error);
        if (strv_isempty(argv))
                return config_error(ret_error, -EINVAL, k, source, path, "must name a program (got an empty command)");
        if (isempty(argv[0]))
                return config_error(ret_error, -EINVAL, k, source, path, "program name must not be empty");
        return 0;
}

/* JSON array of strings → strv. */
static int command_from_json(const ConfigKey *k, json_object *v, ConfigSource source, const char *path,
                             char ***ret, char **ret_error) {
        _cleanup_strv_free_ char **l = NULL;
        size_t n = json_object_array_length(v);

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                const char *s;

                if (!json_object_is_type(e, json_type_string))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "element %zu must be a string, got %s", i,
                                            json_type_to_name(json_object_get_type(e)));
                s = json_object_get_string(e);
                if ((size_t) json_object_get_string_len(e) != strlen(s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "element %zu contains a NUL character", i);
                if (strv_extend(&l, s) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int store_string(LhConfig *c, const ConfigKey *k, const char *s, ConfigSource source,
                        const char *path, char **ret_error) {
        char *copy;

        switch (k->type) {
        case CONFIG_TYPE_STRING:
                if (k->check ? !k->check(s) : !slice_name_is_valid(s))
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "'%s' is not %s", s, k->check_what ?: "a valid slice name (want NAME.slice)");
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
                key_free_value(c, k);
                *(char **) field(c, k) = copy;
                return 0;

        case CONFIG_TYPE_ENFORCEMENT: {
                int e = enforcement_request_from_string(s);
                if (e < 0)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "unknown value '%s' (expected auto, scope or process)", s);
                *(EnforcementRequest *) field(c, k) = (EnforcementRequest) e;
                return 0;
        }

        case CONFIG_TYPE_LOG_LEVEL: {
                int l = log_level_from_string(s);
                if (l < 0)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "unknown log level '%s' (expected debug, info, notice, warning or error)", s);
                *(int *) field(c, k) = l;
                return 0;
        }

        case CONFIG_TYPE_SANDBOX: {
                int m = sandbox_mode_from_string(s);
                if (m < 0)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "unknown value '%s' (expected none or bwrap)", s);
                *(SandboxMode *) field(c, k) = (SandboxMode) m;
                return 0;
        }

        default:
                abort();
        }
}

/* From an env value (or the command line): text for every type. */
static int config_set_from_text(LhConfig *c, const ConfigKey *k, const char *s, ConfigSource source,
                                char **ret_error) {
        size_t bad;
        int r;

        if (!utf8_is_valid_n(s, strlen(s), &bad))
                return config_error(ret_error, -EINVAL, k, source, NULL, "not valid UTF-8 (byte %zu)", bad);

        switch (k->type) {
        case CONFIG_TYPE_U64: {
                uint64_t v;

                r = parse_u64_text(s, &v);
                if (r == -ERANGE)
                        return config_error(ret_error, r, k, source, NULL, "'%s' is out of range", s);
                if (r < 0)
                        return config_error(ret_error, r, k, source, NULL,
                                            "'%s' is not a non-negative decimal integer", s);
                r = check_u64_range(k, v, source, NULL, ret_error);
                if (r < 0)
                        return r;
                *(uint64_t *) field(c, k) = v;
                break;
        }

        case CONFIG_TYPE_BOOL:
                r = parse_bool_text(s);
                if (r < 0)
                        return config_error(ret_error, r, k, source, NULL, "'%s' is not a boolean", s);
                *(bool *) field(c, k) = r;
                break;

        case CONFIG_TYPE_STRV: {
                _cleanup_strv_free_ char **l = NULL;
                const char *p = s + strspn(s, " \t\n");

                if (*p == '[') {
                        _cleanup_(json_putp) json_object *j = NULL;
                        json_tokener *tok = json_tokener_new();

                        if (!tok)
                                return -ENOMEM;
                        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
                        j = json_tokener_parse_ex(tok, p, (int) strlen(p));
                        r = json_tokener_get_error(tok) == json_tokener_success &&
                            json_tokener_get_parse_end(tok) + strspn(p + json_tokener_get_parse_end(tok), " \t\n") == strlen(p);
                        json_tokener_free(tok);
                        if (!r || !json_object_is_type(j, json_type_array))
                                return config_error(ret_error, -EINVAL, k, source, NULL,
                                                    "starts with '[' but is not a JSON array of strings");
                        r = command_from_json(k, j, source, NULL, &l, ret_error);
                } else if (k->path_list)
                        r = path_list_split(s, &l);
                else {
                        r = strv_split_words(s, &l);
                        if (r == -EINVAL)
                                return config_error(ret_error, r, k, source, NULL,
                                                    "unterminated quote or trailing backslash");
                }
                if (r < 0)
                        return r;
                r = command_check(k, l, source, NULL, ret_error);
                if (r < 0)
                        return r;
                key_free_value(c, k);
                *(char ***) field(c, k) = TAKE_PTR(l);
                break;
        }

        default:
                r = store_string(c, k, s, source, NULL, ret_error);
                if (r < 0)
                        return r;
        }

        c->source[key_index(k)] = source;
        return 0;
}

static const char *json_type_article(json_type t) {
        switch (t) {
        case json_type_null: return "null";
        case json_type_boolean: return "a boolean";
        case json_type_double: return "a fractional number";
        case json_type_int: return "an integer";
        case json_type_object: return "an object";
        case json_type_array: return "an array";
        case json_type_string: return "a string";
        }
        return "something else";
}

static int config_set_from_json(LhConfig *c, const ConfigKey *k, json_object *v, const char *path,
                                char **ret_error) {
        const ConfigSource source = CONFIG_SOURCE_FILE;
        json_type t = json_object_get_type(v);
        int r;

        switch (k->type) {
        case CONFIG_TYPE_U64: {
                uint64_t u;

                if (t != json_type_int)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected a non-negative integer, got %s", json_type_article(t));
                if (json_object_get_int64(v) < 0)
                        return config_error(ret_error, -ERANGE, k, source, path,
                                            "%" PRIi64 " is negative", json_object_get_int64(v));
                /* json-c clamps overflow to UINT64_MAX, which every max rejects */
                u = json_object_get_uint64(v);
                r = check_u64_range(k, u, source, path, ret_error);
                if (r < 0)
                        return r;
                *(uint64_t *) field(c, k) = u;
                break;
        }

        case CONFIG_TYPE_BOOL:
                if (t != json_type_boolean)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected true or false, got %s", json_type_article(t));
                *(bool *) field(c, k) = json_object_get_boolean(v);
                break;

        case CONFIG_TYPE_STRV: {
                _cleanup_strv_free_ char **l = NULL;

                if (t == json_type_null) {
                        /* explicit "resolve per project" */
                        key_free_value(c, k);
                        break;
                }
                if (t == json_type_array)
                        r = command_from_json(k, v, source, path, &l, ret_error);
                else if (t == json_type_string && k->path_list) {
                        /* the env's text forms: "/a:/b" or a JSON array as text */
                        _cleanup_(json_putp) json_object *j = NULL;
                        const char *text = json_object_get_string(v);

                        if (text[strspn(text, " \t\n")] == '[') {
                                j = json_tokener_parse(text);
                                if (!json_object_is_type(j, json_type_array))
                                        return config_error(ret_error, -EINVAL, k, source, path,
                                                            "starts with '[' but is not a JSON array of strings");
                                r = command_from_json(k, j, source, path, &l, ret_error);
                        } else
                                r = path_list_split(text, &l);
                }
                else if (t == json_type_string) {
                        r = strv_split_words(json_object_get_string(v), &l);
                        if (r == -EINVAL)
                                return config_error(ret_error, r, k, source, path,
                                                    "unterminated quote or trailing backslash");
                } else
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected an array of strings or a string, got %s",
                                            json_type_article(t));
                if (r < 0)
                        return r;
                r = command_check(k, l, source, path, ret_error);
                if (r < 0)
                        return r;
                key_free_value(c, k);
                *(char ***) field(c, k) = TAKE_PTR(l);
                break;
        }

        default: {
                const char *s;

                if (t != json_type_string)
                        return config_error(ret_error, -EINVAL, k, source, path,
                                            "expected a string, got %s", json_type_article(t));
                s = json_object_get_string(v);
                if ((size_t) json_object_get_string_len(v) != strlen(s))
                        return config_error(ret_error, -EINVAL, k, source, path, "contains a NUL character");
                r = store_string(c, k, s, source, path, ret_error);
                if (r < 0)
                        return r;
        }
        }

        c->source[key_index(k)] = source;
        return 0;
}

int config_set(LhConfig *c, const char *name, const char *value, ConfigSource source, char **ret_error) {
        int i = config_key_index(name);

        if (i < 0) {
                if (ret_error && asprintf(ret_error, "%s: unknown configuration key", strna(name)) < 0)
                        *ret_error = NULL;
                return -ENOENT;
        }
        return config_set_from_text(c, config_table + i, value, source, ret_error);
}

/* ---- file --------------------------------------------------------------- */

static void offset_to_line_col(const char *text, size_t offset, unsigned *line, unsigned *col) {
        *line = 1;
        *col = 1;
        for (size_t i = 0; i < offset && text[i]; i++) {
                if (text[i] == '\n') {
                        (*line)++;
                        *col = 1;
                } else
                        (*col)++;
        }
}

static int config_parse_file_text(LhConfig *c, const char *path, const char *text, size_t size,
                                  char **ret_error) {
        _cleanup_(json_putp) json_object *root = NULL;
        json_tokener *tok;
        enum json_tokener_error jerr;
        size_t end, bad;
        unsigned line, col;
        int r;

        if (!utf8_is_valid_n(text, size, &bad)) {
                offset_to_line_col(text, bad, &line, &col);
                return file_error(ret_error, -EINVAL, path, "not valid UTF-8 (line %u column %u)", line, col);
        }
        if (size > INT32_MAX)
                return file_error(ret_error, -EFBIG, path, "too large");

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        root = json_tokener_parse_ex(tok, text, (int) size);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);

        if (jerr == json_tokener_continue)
                return file_error(ret_error, -EINVAL, path, "unexpected end of input (not a complete JSON object)");
        if (jerr != json_tokener_success) {
                /* Strict mode also fails on text after a complete value: tell that apart. */
                bool complete = false;
                if (end > 0 && end <= size) {
                        tok = json_tokener_new();
                        if (!tok)
                                return -ENOMEM;
                        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
                        json_object *prefix = json_tokener_parse_ex(tok, text, (int) end);
                        complete = prefix && json_tokener_get_error(tok) == json_tokener_success;
                        json_object_put(prefix);
                        json_tokener_free(tok);
                }
                offset_to_line_col(text, end, &line, &col);
                if (complete)
                        return file_error(ret_error, -EINVAL, path, "trailing garbage at line %u column %u", line, col);
                return file_error(ret_error, -EINVAL, path, "JSON syntax error at line %u column %u: %s",
                                  line, col, json_tokener_error_desc(jerr));
        }
        end += strspn(text + end, " \t\r\n");
        if (end < size) {
                offset_to_line_col(text, end, &line, &col);
                return file_error(ret_error, -EINVAL, path, "trailing garbage at line %u column %u", line, col);
        }
        if (!json_object_is_type(root, json_type_object))
                return file_error(ret_error, -EINVAL, path, "top level must be a JSON object, got %s",
                                  json_type_article(json_object_get_type(root)));

        json_object_object_foreach(root, section, sv) {
                bool known = false;

                for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                        const char *k = config_table[i].key;
                        size_t n = strcspn(k, ".");
                        if (strlen(section) == n && strneq(k, section, n))
                                known = true;
                }
                if (!known)
                        return file_error(ret_error, -EINVAL, path,
                                          "unknown section '%s' (expected memory, cache, project, worker or daemon)",
                                          section);
                if (!json_object_is_type(sv, json_type_object))
                        return file_error(ret_error, -EINVAL, path, "section '%s' must be an object, got %s",
                                          section, json_type_article(json_object_get_type(sv)));

                json_object_object_foreach(sv, name, v) {
                        _cleanup_free_ char *dotted = NULL;
                        int idx;

                        if (asprintf(&dotted, "%s.%s", section, name) < 0)
                                return -ENOMEM;
                        idx = -1;
                        for (size_t i = 0; i < ELEMENTSOF(config_table); i++)
                                if (streq(config_table[i].key, dotted))
                                        idx = (int) i;
                        if (idx < 0)
                                return file_error(ret_error, -EINVAL, path, "unknown key '%s'", dotted);

                        r = config_set_from_json(c, config_table + idx, v, path, ret_error);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int config_load_file(LhConfig *c, const char *path, bool must_exist, char **ret_error) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = read_full_file(path, 4 * 1024 * 1024, &text, &size);
        if (r == -ENOENT && !must_exist)
                return 0;
        if (r < 0)
                return file_error(ret_error, r, path, "cannot read: %s", strerror(-r));

        r = config_parse_file_text(c, path, text, size, ret_error);
        if (r < 0)
                return r;

        free(c->config_file);
        c->config_file = strdup(path);
        if (!c->config_file)
                return -ENOMEM;
        return 1;
}

static const char *envp_get(char **envp, const char *name) {
        size_t n = strlen(name);

        /* first match, as getenv(3) */
        for (char **e = envp; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

/* The default file: the first of these that exists. */
static int config_default_paths(char **envp, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *xdg = envp_get(envp, "XDG_CONFIG_HOME"), *home = envp_get(envp, "HOME");
        int r;

        l = new0(char *, 1);
        if (!l)
                return -ENOMEM;
        /* per the XDG spec, a relative XDG_CONFIG_HOME is ignored */
        if (path_is_absolute(xdg))
                r = strv_consume(&l, path_join(xdg, "lean-host/config.json"));
        else if (path_is_absolute(home))
                r = strv_consume(&l, path_join(home, ".config/lean-host/config.json"));
        else
                r = 0;
        if (r < 0)
                return r;
        r = strv_consume(&l, path_join(SYSCONFDIR, "lean-host/config.json"));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

/* ---- env ---------------------------------------------------------------- */

static int config_load_env(LhConfig *c, char **envp, char **ret_error) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                const char *v = envp_get(envp, config_table[i].env);

                if (!v)
                        continue;
                r = config_set_from_text(c, config_table + i, v, CONFIG_SOURCE_ENV, ret_error);
                if (r < 0)
                        return r;
        }

        /* A typo in a variable name would otherwise be silently ignored. Not
         * an error: other lean-host tools may read LEAN_HOST_MCP_* too. */
        for (char **e = envp; e && *e; e++) {
                size_t n = strcspn(*e, "=");
                bool known = false;

                if (!strneq(*e, "LEAN_HOST_MCP_", strlen("LEAN_HOST_MCP_")))
                        continue;
                for (size_t i = 0; i < ELEMENTSOF(config_table); i++)
                        if (strlen(config_table[i].env) == n && strneq(config_table[i].env, *e, n))
                                known = true;
                if (!known)
                        log_warning("Ignoring unknown environment variable %.*s.", (int) MIN(n, (size_t) 128), *e);
        }
        return 0;
}

/* ---- load / validate ---------------------------------------------------- */

int config_load(LhConfig *c, const char *explicit_path, char **envp, char **ret_error) {
        int r;

        if (ret_error)
                *ret_error = NULL;

        /* max_workers stays 0 ("auto") until every layer had its say: the
         * auto value depends on the final post-job tier. */
        config_set_defaults_raw(c);

        if (explicit_path)
                r = config_load_file(c, explicit_path, true, ret_error);
        else {
                _cleanup_strv_free_ char **paths = NULL;

                r = config_default_paths(envp, &paths);
                if (r < 0)
                        return r;
                STRV_FOREACH(p, paths) {
                        r = config_load_file(c, *p, false, ret_error);
                        if (r != 0)
                                break;
                }
        }
        if (r < 0)
                return r;

        r = config_load_env(c, envp, ret_error);
        if (r < 0)
                return r;

        r = config_validate(c, ret_error);
        if (r < 0)
                return r;

        config_resolve_max_workers(c);
        return 0;
}

/* Name the values (and where each came from) in the tier-order error. */
static const char *source_label(const LhConfig *c, size_t idx, char *buf, size_t size) {
        const ConfigKey *k = config_table + idx;

        switch (c->source[idx]) {
        case CONFIG_SOURCE_ENV:
                snprintf(buf, size, "env %s", k->env);
                break;
        case CONFIG_SOURCE_FILE:
                snprintf(buf, size, "file %s", strna(c->config_file));
                break;
        default:
                snprintf(buf, size, "%s", config_source_to_string(c->source[idx]) ?: "?");
        }
        return buf;
}

static int tier_order_error(const LhConfig *c, char **ret_error, const char *lo_name, size_t lo,
                            const char *hi_name, size_t hi) {
        uint64_t lo_v = *(const uint64_t *) field_const(c, config_table + lo),
                 hi_v = *(const uint64_t *) field_const(c, config_table + hi);
        char a[512], b[512];

        if (!ret_error)
                return -EINVAL;
        free(*ret_error);
        if (asprintf(ret_error,
                     "invalid RSS config: %s=%" PRIu64 " KiB exceeds %s=%" PRIu64 " KiB "
                     "(need import_switch <= post_job <= hard_kill); "
                     "%s (%s), %s (%s)",
                     lo_name, lo_v, hi_name, hi_v,
                     config_table[lo].key, source_label(c, lo, a, sizeof a),
                     config_table[hi].key, source_label(c, hi, b, sizeof b)) < 0)
                *ret_error = NULL;
        return -EINVAL;
}

int config_validate(const LhConfig *c, char **ret_error) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                const ConfigKey *k = config_table + i;
                ConfigSource s = c->source[i];
                const char *path = c->config_file;

                switch (k->type) {
                case CONFIG_TYPE_U64:
                        r = check_u64_range(k, *(const uint64_t *) field_const(c, k), s, path, ret_error);
                        if (r < 0)
                                return r;
                        break;
                case CONFIG_TYPE_STRING: {
                        const char *v = *(char *const *) field_const(c, k);

                        if (k->check ? !k->check(v) : !slice_name_is_valid(v))
                                return config_error(ret_error, -EINVAL, k, s, path, "not %s",
                                                    k->check_what ?: "a valid slice name");
                        break;
                }
                        break;
                case CONFIG_TYPE_STRV: {
                        char **l = *(char **const *) field_const(c, k);
                        if (l) {
                                r = command_check(k, l, s, path, ret_error);
                                if (r < 0)
                                        return r;
                        }
                        break;
                }
                case CONFIG_TYPE_ENFORCEMENT:
                        if (!enforcement_request_to_string(*(const EnforcementRequest *) field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid value");
                        break;
                case CONFIG_TYPE_LOG_LEVEL:
                        if (!log_level_to_string(*(const int *) field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid log level");
                        break;
                case CONFIG_TYPE_SANDBOX:
                        if (!sandbox_mode_to_string(*(const SandboxMode *) field_const(c, k)))
                                return config_error(ret_error, -EINVAL, k, s, path, "invalid value");
                        break;
                case CONFIG_TYPE_BOOL:
                        break;
                }
        }

        /* The tiers escalate: a cheaper planned recycle must be able to fire
         * before the next one (see the Rust reference's validate_rss_ordering). */
        const size_t soft = (size_t) config_key_index("memory.import_switch_rss_soft_kib"),
                     post = (size_t) config_key_index("memory.worker_rss_post_job_restart_kib"),
                     hard = (size_t) config_key_index("memory.worker_rss_hard_kill_kib");
        if (c->import_switch_rss_soft_kib > c->worker_rss_post_job_restart_kib)
                return tier_order_error(c, ret_error, "import_switch", soft, "post_job", post);
        if (c->worker_rss_post_job_restart_kib > c->worker_rss_hard_kill_kib)
                return tier_order_error(c, ret_error, "post_job", post, "hard_kill", hard);

        return 0;
}

/* ---- dump --------------------------------------------------------------- */

void config_dump(const LhConfig *c, FILE *f) {
        for (size_t i = 0; i < ELEMENTSOF(config_table); i++) {
                const ConfigKey *k = config_table + i;
                const void *p = field_const(c, k);

                fprintf(f, "%s = ", k->key);
                switch (k->type) {
                case CONFIG_TYPE_U64:
                        fprintf(f, "%" PRIu64, *(const uint64_t *) p);
                        break;
                case CONFIG_TYPE_BOOL:
                        fputs(*(const bool *) p ? "true" : "false", f);
                        break;
                case CONFIG_TYPE_STRING:
                        fputs(strna(*(char *const *) p), f);
                        break;
                case CONFIG_TYPE_STRV: {
                        char **l = *(char **const *) p;
                        _cleanup_(json_putp) json_object *a = NULL;

                        if (!l) {
                                fputs("null", f);
                                break;
                        }
                        a = json_object_new_array();
                        STRV_FOREACH(s, l)
                                if (!a || json_object_array_add(a, json_object_new_string(*s)) < 0)
                                        break;
                        fputs(a ? json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN |
                                                                            JSON_C_TO_STRING_NOSLASHESCAPE)
                                : "?", f);
                        break;
                }
                case CONFIG_TYPE_ENFORCEMENT:
                        fputs(strna(enforcement_request_to_string(*(const EnforcementRequest *) p)), f);
                        break;
                case CONFIG_TYPE_LOG_LEVEL:
                        fputs(strna(log_level_to_string(*(const int *) p)), f);
                        break;
                case CONFIG_TYPE_SANDBOX:
                        fputs(strna(sandbox_mode_to_string(*(const SandboxMode *) p)), f);
                        break;
                }

                switch (c->source[i]) {
                case CONFIG_SOURCE_FILE:
                        fprintf(f, "  (file %s)\n", strna(c->config_file));
                        break;
                case CONFIG_SOURCE_ENV:
                        fprintf(f, "  (env %s)\n", k->env);
                        break;
                default:
                        fprintf(f, "  (%s)\n", strna(config_source_to_string(c->source[i])));
                }
        }
}
