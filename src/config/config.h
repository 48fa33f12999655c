/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "worker/sandbox.h" /* SandboxMode (header-only) */

/* The resolved runtime configuration: built-in default < config file < env
 * (LEAN_HOST_MCP_*) < command line. Parsed once at start; nothing reads the
 * environment or the file after that. Every key has a dotted file name
 * ("memory.worker_rss_hard_kill_kib") and an env name; see config-table.c. */

typedef enum ConfigSource {
        CONFIG_SOURCE_DEFAULT,
        CONFIG_SOURCE_FILE,
        CONFIG_SOURCE_ENV,
        CONFIG_SOURCE_CMDLINE,
        _CONFIG_SOURCE_MAX,
} ConfigSource;

typedef enum EnforcementRequest {
        ENFORCEMENT_AUTO,    /* scope if a user manager + memory controller answer, else process */
        ENFORCEMENT_SCOPE,   /* require transient scopes; fail worker start otherwise */
        ENFORCEMENT_PROCESS, /* plain child, daemon-side enforcement only */
        _ENFORCEMENT_MAX,
} EnforcementRequest;

typedef struct LhConfig {
        /* memory tiers (KiB) and sampling; import_switch <= post_job <= hard_kill */
        uint64_t import_switch_rss_soft_kib;      /* 2 GiB */
        uint64_t worker_rss_post_job_restart_kib; /* 5 GiB; also the scope's MemoryHigh */
        uint64_t worker_rss_hard_kill_kib;        /* 16 GiB; also the scope's MemoryMax */
        uint64_t worker_rss_sample_millis;        /* 250 */

        /* module query cache */
        uint64_t module_cache_rss_guard_kib; /* 2 GiB */
        uint64_t module_cache_max_bytes;     /* 32 MiB */
        uint64_t module_cache_capacity;      /* 256 entries */

        /* project actor */
        uint64_t request_timeout_millis;    /* 120000 */
        uint64_t mailbox_capacity;          /* 8 */
        uint64_t restart_limit;             /* 3 abnormal restarts ... */
        uint64_t restart_window_secs;       /* ... per 60 s */
        char **trusted_roots;               /* roots owned by others that may run anyway; "*" = all */
        uint64_t project_forget_idle_secs;  /* forget a project idle this long; 0 = never */
        uint64_t project_max_workers;       /* workers per project (pool); 0 in file/env = min(4, CPUs - 1) */
        uint64_t project_pool_memory_kib;   /* a pool grows while its hard tiers fit; 0 = MemTotal */
        bool project_pool_memory_auto;      /* it was 0: MemTotal, or the workers' cgroup's memory.max if lower */
        bool project_warm_successor;        /* a recycled/killed worker's successor starts at once */
        char **project_prewarm_imports;     /* a pool worker loads these at a project's first call; NULL = none */

        /* worker */
        char **worker_command;           /* argv (strv); NULL = resolve per project (lake env repl) */
        uint64_t worker_max_requests;    /* 64 jobs, then planned recycle max_requests */
        uint64_t worker_max_imports;     /* distinct import profiles, then planned recycle max_imports */
        uint64_t worker_idle_secs;       /* idle worker stopped (planned, idle); 0 = never */
        uint64_t max_workers;            /* live workers over all projects; 0 in file/env = auto */
        uint64_t heavy_permits;          /* concurrent heavy jobs (proof search) */
        EnforcementRequest enforcement;
        char *slice;                     /* "lean-host.slice" */
        uint64_t worker_stderr_max_bytes; /* per worker generation, logged; the rest counted, dropped */
        SandboxMode sandbox;             /* none, or bwrap around every worker */

        /* daemon */
        uint64_t idle_exit_secs;   /* exit with no connections and no workers; 0 = never */
        uint64_t max_line_bytes;   /* 8 MiB: longer input line → error + close */
        uint64_t max_connections;  /* concurrent MCP connections */
        int log_level;             /* LOG_* */
        uint64_t max_input_bytes;        /* unfinished input over all connections: 64 MiB */
        uint64_t line_timeout_secs;      /* an unfinished line older than this → error + close; 0 = never */
        uint64_t handshake_timeout_secs; /* no initialize within this → error + close; 0 = never */
        uint64_t connection_idle_secs;   /* idle session (nothing in flight) closed after this; 0 = never */
        uint64_t result_max_messages;    /* Lean messages per tool result, the rest counted */
        uint64_t result_max_message_bytes; /* message text per tool result */
        uint64_t progress_interval_secs; /* heartbeat progress of a silent call with a progressToken; 0 = none */
        uint64_t worker_max_reply_bytes; /* one REPL reply; larger → error, worker recycled */
        char *http_listen;               /* MCP Streamable HTTP on ADDRESS:PORT; "" = off (src/http) */
        char *http_token_file;           /* bearer token required on every HTTP request; "" = none */
        uint64_t http_max_sessions;      /* concurrent HTTP sessions */
        char *http_allowed_hosts;        /* Host/Origin names accepted besides the loopback ones, comma-separated */

        /* REPL provisioning and elan; "" = default */
        char *repl_source;         /* git URL or local checkout the REPL is built from */
        char *repl_revisions_file; /* <pin> <rev> lines (data/repl-revisions) */
        char *repl_cache_dir;      /* "" = $XDG_CACHE_HOME/lean-host/repl */
        char *elan_home;           /* "" = $ELAN_HOME, else ~/.elan */

        char *config_file;           /* the file read, or NULL */
        ConfigSource source[64];     /* per key, indexed as config-table.c's table */
} LhConfig;

/* Fill with built-in defaults (max_workers resolved from MemTotal). */
void config_init_defaults(LhConfig *c);

/* Load: defaults, then the file (explicit_path if non-NULL, else
 * $XDG_CONFIG_HOME/lean-host/config.json, ~/.config/..., then
 * SYSCONFDIR/lean-host/config.json; a missing default file is fine, a
 * missing explicit one is an error), then env (envp, NULL-terminated
 * "KEY=value" array; pass environ). Validates. On error returns negative errno
 * and sets *ret_error to a malloc'd message naming the key and its source,
 * e.g. "LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS (env): must be > 0". */
int config_load(LhConfig *c, const char *explicit_path, char **envp, char **ret_error);

/* Validate the resolved values (zero where unsafe, tier order). */
int config_validate(const LhConfig *c, char **ret_error);

/* Print "key = value  (source)" lines, one per key, for --dump-config. */
void config_dump(const LhConfig *c, FILE *f);

void config_done(LhConfig *c);

const char *config_source_to_string(ConfigSource s);
const char *enforcement_request_to_string(EnforcementRequest e);

/* ---- additions (config owner) ------------------------------------------ */

int enforcement_request_from_string(const char *s); /* EnforcementRequest or -EINVAL */

/* The key table: index i is the index into LhConfig.source[]. */
size_t config_n_keys(void);
const char *config_key_name(size_t idx); /* "memory.worker_rss_hard_kill_kib" */
const char *config_key_env(size_t idx);  /* "LEAN_HOST_MCP_WORKER_RSS_HARD_KILL_KIB" */
int config_key_index(const char *name);  /* by dotted key or env name; -ENOENT */
ConfigSource config_get_source(const LhConfig *c, const char *name); /* _CONFIG_SOURCE_MAX if unknown */

/* Set one key from text (as an env value is parsed), e.g. for command-line
 * overrides: config_set(c, "daemon.log_level", "debug", CONFIG_SOURCE_CMDLINE, &err).
 * Call config_validate() afterwards for cross-key rules (tier order). */
int config_set(LhConfig *c, const char *name, const char *value, ConfigSource source, char **ret_error);

/* max_workers "auto": clamp(MemTotal / post-job tier, 1, 8). */
uint64_t config_auto_max_workers(uint64_t memtotal_kib, uint64_t post_job_kib);
int config_read_memtotal_kib(const char *meminfo_path, uint64_t *ret); /* NULL = /proc/meminfo */
