/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "config/config-internal.h"

#define MAX_WORKERS_AUTO_MAX 8

/* ---- MemTotal → max_workers ------------------------------------------- */

int config_read_memtotal_kib(const char *meminfo_path, uint64_t *ret) {
        _cleanup_free_ char *text = NULL;
        const char *p;
        unsigned long long v;
        int r;

        assert(ret);

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

        assert(c);

        if (c->max_workers != 0)
                return;
        /* Without /proc/meminfo we cannot size it; one worker is the safe guess. */
        if (config_read_memtotal_kib(NULL, &mem) < 0)
                c->max_workers = 1;
        else
                c->max_workers = config_auto_max_workers(mem, c->worker_rss_post_job_restart_kib);
}

/* project.max_workers "auto": one per spare CPU, at most 4; the pool's
 * memory "auto": MemTotal (read once here, never on the loop). */
static void config_resolve_pool(LhConfig *c) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t mem;

        if (c->project_max_workers == 0)
                c->project_max_workers = n > 1 ? MIN((uint64_t) n - 1, (uint64_t) 4) : 1;
        if (c->project_pool_memory_kib == 0) {
                c->project_pool_memory_kib = config_read_memtotal_kib(NULL, &mem) < 0 ? 0 : mem;
                c->project_pool_memory_auto = true; /* the slice's memory.max may be lower: pool-budget.c */
        }
}

/* ---- defaults ----------------------------------------------------------- */

static void config_set_defaults_raw(LhConfig *c) {
        assert(c);

        *c = (LhConfig) {};
        for (size_t i = 0; i < config_table_n; i++) {
                const ConfigKey *k = config_table + i;

                switch (k->type) {
                case CONFIG_TYPE_U64:
                        *(uint64_t *) config_field(c, k) = k->def;
                        break;
                case CONFIG_TYPE_BOOL:
                        *(bool *) config_field(c, k) = k->def;
                        break;
                case CONFIG_TYPE_STRING:
                        /* strdup failing here leaves NULL: config_validate catches it */
                        *(char **) config_field(c, k) = k->def_str ? strdup(k->def_str) : NULL;
                        break;
                case CONFIG_TYPE_STRV:
                        /* a path list is empty, not unset ("[]" in the dump); strdup-style OOM leaves NULL, also empty */
                        *(char ***) config_field(c, k) = k->path_list ? new0(char *, 1) : NULL;
                        break;
                case CONFIG_TYPE_ENFORCEMENT:
                        *(EnforcementRequest *) config_field(c, k) = (EnforcementRequest) k->def;
                        break;
                case CONFIG_TYPE_LOG_LEVEL:
                        *(int *) config_field(c, k) = (int) k->def;
                        break;
                case CONFIG_TYPE_SANDBOX:
                        *(SandboxMode *) config_field(c, k) = (SandboxMode) k->def;
                        break;
                }
                c->source[i] = CONFIG_SOURCE_DEFAULT;
        }
}

void config_init_defaults(LhConfig *c) {
        assert(c);

        config_set_defaults_raw(c);
        config_resolve_max_workers(c);
        config_resolve_pool(c);
}

void config_done(LhConfig *c) {
        if (!c)
                return;
        for (size_t i = 0; i < config_table_n; i++)
                config_key_free_value(c, config_table + i);
        c->config_file = mfree(c->config_file);
}

/* ---- load --------------------------------------------------------------- */

int config_load(LhConfig *c, const char *explicit_path, char **envp, char **ret_error) {
        int r;

        assert(c);

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
        config_resolve_pool(c);
        return 0;
}

/* ---- dump --------------------------------------------------------------- */

void config_dump(const LhConfig *c, FILE *f) {
        assert(c);
        assert(f);

        for (size_t i = 0; i < config_table_n; i++) {
                const ConfigKey *k = config_table + i;
                const void *p = config_field_const(c, k);

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
                        _cleanup_(json_object_putp) json_object *a = NULL;

                        if (!l) {
                                fputs("null", f);
                                break;
                        }
                        a = json_strv_new(l);
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
