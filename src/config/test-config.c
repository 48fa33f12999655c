/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/log.h"
#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "config/config.h"
#include "lh-build-config.h"

/* Never the real environment: every load gets an explicit envp. */

static char tmpdir[] = "/tmp/test-config-XXXXXX";
static char cfgpath[PATH_MAX];

static void write_file(const char *path, const char *content, size_t n) {
        _cleanup_free_ char *dir = strdup(path);
        int fd;

        ASSERT_TRUE(dir);
        *strrchr(dir, '/') = 0;
        ASSERT_OK(mkdir_p_mode(dir, 0755));
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(write(fd, content, n), (ssize_t) n);
        close(fd);
}

/* Load with content (NULL: no file) as an explicit config file. */
static int load(LhConfig *c, const char *content, char **envp, char **err) {
        if (content)
                write_file(cfgpath, content, strlen(content));
        return config_load(c, content ? cfgpath : NULL, envp, err);
}

static char *dump(const LhConfig *c) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);

        ASSERT_TRUE(f);
        config_dump(c, f);
        fclose(f);
        return buf;
}

/* An envp that points the default file lookup into our temp dir. */
#define ENVP(...) ((char *[]) { "XDG_CONFIG_HOME=/nonexistent-lean-host-test", __VA_ARGS__ __VA_OPT__(,) NULL })

static bool sysconf_file_exists(void) {
        return access(SYSCONFDIR "/lean-host/config.json", F_OK) == 0;
}

static void test_defaults(void) {
        LhConfig c = {};
        char **envp = ENVP();
        _cleanup_free_ char *err = NULL;

        config_init_defaults(&c);
        /* the Rust reference's numbers */
        ASSERT_EQ(c.import_switch_rss_soft_kib, 2ULL * 1024 * 1024);
        ASSERT_EQ(c.worker_rss_post_job_restart_kib, 5ULL * 1024 * 1024);
        ASSERT_EQ(c.worker_rss_hard_kill_kib, 16ULL * 1024 * 1024);
        ASSERT_EQ(c.worker_rss_sample_millis, 250);
        ASSERT_EQ(c.module_cache_rss_guard_kib, 2ULL * 1024 * 1024);
        ASSERT_EQ(c.module_cache_max_bytes, 32ULL * 1024 * 1024);
        ASSERT_EQ(c.module_cache_capacity, 256);
        ASSERT_EQ(c.request_timeout_millis, 120000);
        ASSERT_EQ(c.mailbox_capacity, 8);
        ASSERT_EQ(c.restart_limit, 3);
        ASSERT_EQ(c.restart_window_secs, 60);
        /* ours */
        ASSERT_TRUE(c.worker_command == NULL);
        ASSERT_EQ(c.worker_max_requests, 64);
        ASSERT_EQ(c.worker_max_imports, 8);
        ASSERT_EQ(c.worker_idle_secs, 600);
        ASSERT_TRUE(c.max_workers >= 1 && c.max_workers <= 8);
        ASSERT_EQ(c.heavy_permits, 1);
        ASSERT_EQ(c.enforcement, ENFORCEMENT_AUTO);
        ASSERT_STREQ(c.slice, "lean-host.slice");
        ASSERT_EQ(c.worker_stderr_max_bytes, 65536);
        ASSERT_EQ(c.idle_exit_secs, 300);
        ASSERT_EQ(c.max_line_bytes, 8ULL * 1024 * 1024);
        ASSERT_EQ(c.max_connections, 1024);
        ASSERT_EQ(c.log_level, LOG_INFO);
        ASSERT_EQ(c.progress_interval_secs, 15);
        ASSERT_TRUE(c.config_file == NULL);
        for (size_t i = 0; i < config_n_keys(); i++)
                ASSERT_EQ(c.source[i], CONFIG_SOURCE_DEFAULT);
        ASSERT_OK(config_validate(&c, &err));
        config_done(&c);

        /* loading with no file and no env gives the same */
        if (!sysconf_file_exists()) {
                ASSERT_OK(load(&c, NULL, envp, &err));
                ASSERT_TRUE(err == NULL);
                ASSERT_TRUE(c.config_file == NULL);
                ASSERT_EQ(c.worker_rss_hard_kill_kib, 16ULL * 1024 * 1024);
                ASSERT_EQ(c.request_timeout_millis, 120000);
                ASSERT_TRUE(c.max_workers >= 1 && c.max_workers <= 8);
                for (size_t i = 0; i < config_n_keys(); i++)
                        ASSERT_EQ(c.source[i], CONFIG_SOURCE_DEFAULT);
                config_done(&c);
        }
}

static void test_table(void) {
        ASSERT_TRUE(config_n_keys() <= 64);
        for (size_t i = 0; i < config_n_keys(); i++) {
                ASSERT_TRUE(strchr(config_key_name(i), '.'));
                ASSERT_TRUE(strneq(config_key_env(i), "LEAN_HOST_MCP_", 14));
                ASSERT_EQ(config_key_index(config_key_name(i)), i);
                ASSERT_EQ(config_key_index(config_key_env(i)), i);
                for (size_t j = 0; j < i; j++) {
                        ASSERT_FALSE(streq(config_key_name(i), config_key_name(j)));
                        ASSERT_FALSE(streq(config_key_env(i), config_key_env(j)));
                }
        }
        ASSERT_EQ(config_key_index("memory.nope"), -ENOENT);
        ASSERT_EQ(config_key_index("project.restart_limit"), config_key_index("LEAN_HOST_MCP_WORKER_RESTART_LIMIT"));
        ASSERT_EQ(config_key_index("project.mailbox_capacity"), config_key_index("LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY"));
        ASSERT_STREQ(enforcement_request_to_string(ENFORCEMENT_SCOPE), "scope");
        ASSERT_EQ(enforcement_request_from_string("process"), ENFORCEMENT_PROCESS);
        ASSERT_EQ(enforcement_request_from_string("cgroup"), -EINVAL);
        ASSERT_STREQ(config_source_to_string(CONFIG_SOURCE_ENV), "env");
        ASSERT_TRUE(config_source_to_string(_CONFIG_SOURCE_MAX) == NULL);
}

static void test_precedence(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL;
        char **envp = ENVP("LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=90000",
                           "LEAN_HOST_MCP_ENFORCEMENT=process",
                           "LEAN_HOST_MCP_LOG_LEVEL=debug",
                           "UNRELATED=1");

        ASSERT_OK(load(&c,
                       "{ \"project\": { \"request_timeout_millis\": 45000, \"mailbox_capacity\": 4 },\n"
                       "  \"worker\": { \"enforcement\": \"scope\", \"slice\": \"lean-test.slice\",\n"
                       "              \"idle_secs\": 0 },\n"
                       "  \"daemon\": { \"idle_exit_secs\": 0, \"log_level\": \"warning\" } }\n",
                       envp, &err));
        ASSERT_TRUE(err == NULL);
        ASSERT_STREQ(c.config_file, cfgpath);

        /* env > file */
        ASSERT_EQ(c.request_timeout_millis, 90000);
        ASSERT_EQ(config_get_source(&c, "project.request_timeout_millis"), CONFIG_SOURCE_ENV);
        ASSERT_EQ(c.enforcement, ENFORCEMENT_PROCESS);
        ASSERT_EQ(config_get_source(&c, "worker.enforcement"), CONFIG_SOURCE_ENV);
        ASSERT_EQ(c.log_level, LOG_DEBUG);
        /* file > default */
        ASSERT_EQ(c.mailbox_capacity, 4);
        ASSERT_EQ(config_get_source(&c, "project.mailbox_capacity"), CONFIG_SOURCE_FILE);
        ASSERT_STREQ(c.slice, "lean-test.slice");
        ASSERT_EQ(config_get_source(&c, "worker.slice"), CONFIG_SOURCE_FILE);
        /* zero allowed where it means "never" */
        ASSERT_EQ(c.worker_idle_secs, 0);
        ASSERT_EQ(c.idle_exit_secs, 0);
        /* default */
        ASSERT_EQ(c.restart_limit, 3);
        ASSERT_EQ(config_get_source(&c, "project.restart_limit"), CONFIG_SOURCE_DEFAULT);

        /* command line > env */
        ASSERT_OK(config_set(&c, "daemon.log_level", "error", CONFIG_SOURCE_CMDLINE, &err));
        ASSERT_EQ(c.log_level, LOG_ERR);
        ASSERT_EQ(config_get_source(&c, "daemon.log_level"), CONFIG_SOURCE_CMDLINE);
        ASSERT_ERROR(config_set(&c, "daemon.nope", "1", CONFIG_SOURCE_CMDLINE, &err), ENOENT);
        ASSERT_CONTAINS(err, "daemon.nope");
        err = mfree(err);
        config_done(&c);

        /* the same file, no env: the file's values */
        ASSERT_OK(load(&c, "{\"project\":{\"request_timeout_millis\":45000}}", ENVP(), &err));
        ASSERT_EQ(c.request_timeout_millis, 45000);
        ASSERT_EQ(config_get_source(&c, "project.request_timeout_millis"), CONFIG_SOURCE_FILE);
        config_done(&c);

        /* an empty object is a valid file */
        ASSERT_OK(load(&c, "{}", ENVP(), &err));
        ASSERT_EQ(c.request_timeout_millis, 120000);
        ASSERT_STREQ(c.config_file, cfgpath);
        config_done(&c);

        /* max_workers 0 = auto: resolved to 1..8; an explicit value stays */
        ASSERT_OK(load(&c, "{\"worker\":{\"max_workers\":0}}", ENVP(), &err));
        ASSERT_TRUE(c.max_workers >= 1 && c.max_workers <= 8);
        config_done(&c);
        ASSERT_OK(load(&c, "{\"worker\":{\"max_workers\":0}}", ENVP("LEAN_HOST_MCP_MAX_WORKERS=13"), &err));
        ASSERT_EQ(c.max_workers, 13);
        config_done(&c);

        /* the pool: project.max_workers 0 = min(4, CPUs - 1), at least 1; its memory 0 = MemTotal */
        ASSERT_OK(load(&c, "{\"project\":{\"max_workers\":0,\"pool_memory_kib\":0}}", ENVP(), &err));
        ASSERT_TRUE(c.project_max_workers >= 1 && c.project_max_workers <= 4);
        ASSERT_TRUE(c.project_pool_memory_kib > 0);
        ASSERT_TRUE(c.project_warm_successor);
        config_done(&c);
        ASSERT_OK(load(&c, "{\"project\":{\"max_workers\":6,\"warm_successor\":false,\"prewarm_imports\":[\"Mathlib\"]}}",
                       ENVP(), &err));
        ASSERT_EQ(c.project_max_workers, 6);
        ASSERT_FALSE(c.project_warm_successor);
        ASSERT_STREQ(c.project_prewarm_imports[0], "Mathlib");
        config_done(&c);
        /* validated: at most 64 workers per project */
        ASSERT_TRUE(load(&c, "{\"project\":{\"max_workers\":65}}", ENVP(), &err) < 0);
        err = mfree(err);
        config_done(&c);
}

/* Every key is wired to its env var and its file key: feed each the value
 * the defaults dump shows and check the source changes. */
static void test_every_key_roundtrip(void) {
        LhConfig d = {}, c = {};
        _cleanup_free_ char *text = NULL, *json = NULL, *err = NULL;
        FILE *f;
        size_t n;

        ASSERT_OK(load(&d, NULL, ENVP(), &err));
        text = dump(&d);
        config_done(&d);

        /* one line per key, in table order */
        n = 0;
        for (char *p = text; *p; p++)
                n += *p == '\n';
        ASSERT_EQ(n, config_n_keys());

        f = open_memstream(&json, &n);
        ASSERT_TRUE(f);
        fputs("{", f);
        const char *prev_section = NULL;
        size_t prev_len = 0;
        char *save = NULL;
        size_t i = 0;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
                const char *key = config_key_name(i), *env = config_key_env(i);
                char *eq = strstr(line, " = "), *src = strstr(line, "  (");
                _cleanup_free_ char *value = NULL, *envvar = NULL;
                size_t sl = strcspn(key, ".");

                ASSERT_TRUE(eq && src);
                ASSERT_TRUE(strneq(line, key, strlen(key)) && line + strlen(key) == eq);
                ASSERT_STREQ(src, "  (default)");
                value = strndup(eq + 3, src - eq - 3);
                if (streq(key, "worker.command")) {
                        ASSERT_STREQ(value, "null");
                        continue;
                }

                /* env */
                ASSERT_TRUE(asprintf(&envvar, "%s=%s", env, value) > 0);
                ASSERT_OK(load(&c, NULL, ENVP(envvar), &err));
                ASSERT_EQ(c.source[i], CONFIG_SOURCE_ENV);
                for (size_t j = 0; j < config_n_keys(); j++)
                        if (j != i)
                                ASSERT_EQ(c.source[j], CONFIG_SOURCE_DEFAULT);
                config_done(&c);

                /* file */
                if (!prev_section || prev_len != sl || !strneq(prev_section, key, sl))
                        fprintf(f, "%s\"%.*s\": {", prev_section ? "}, " : "", (int) sl, key);
                else
                        fputs(", ", f);
                bool numeric = (value[0] && value[strspn(value, "0123456789")] == 0) ||
                               streq(value, "true") || streq(value, "false"); /* a JSON literal */
                fprintf(f, numeric ? "\"%s\": %s" : "\"%s\": \"%s\"", key + sl + 1, value);
                prev_section = key;
                prev_len = sl;
        }
        fputs("}}\n", f);
        fclose(f);

        ASSERT_OK(load(&c, json, ENVP(), &err));
        for (size_t j = 0; j < config_n_keys(); j++)
                ASSERT_EQ(c.source[j], streq(config_key_name(j), "worker.command") ? CONFIG_SOURCE_DEFAULT
                                                                                    : CONFIG_SOURCE_FILE);
        config_done(&c);
}

typedef struct RejectCase {
        const char *file;  /* NULL: no file */
        const char *env;   /* NULL: none */
        const char *expect[4];
} RejectCase;

static void test_rejections(void) {
        static const RejectCase cases[] = {
                /* zero where unsafe */
                { NULL, "LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=0",
                  { "LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS (env)", "must be > 0" } },
                { "{\"project\":{\"request_timeout_millis\":0}}", NULL,
                  { "project.request_timeout_millis (file @)", "must be > 0" } },
                { NULL, "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS=0", { "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS (env)", "> 0" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=0", { "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY (env)", "> 0" } },
                { NULL, "LEAN_HOST_MCP_WORKER_RESTART_LIMIT=0", { "LEAN_HOST_MCP_WORKER_RESTART_LIMIT (env)", "> 0" } },
                { NULL, "LEAN_HOST_MCP_WORKER_RESTART_WINDOW_SECS=0", { "LEAN_HOST_MCP_WORKER_RESTART_WINDOW_SECS (env)" } },
                { NULL, "LEAN_HOST_MCP_WORKER_MAX_REQUESTS=0", { "LEAN_HOST_MCP_WORKER_MAX_REQUESTS (env)" } },
                { NULL, "LEAN_HOST_MCP_WORKER_MAX_IMPORTS=0", { "LEAN_HOST_MCP_WORKER_MAX_IMPORTS (env)" } },
                { NULL, "LEAN_HOST_MCP_HEAVY_PERMITS=0", { "LEAN_HOST_MCP_HEAVY_PERMITS (env)" } },
                { NULL, "LEAN_HOST_MCP_MAX_CONNECTIONS=0", { "LEAN_HOST_MCP_MAX_CONNECTIONS (env)" } },
                { NULL, "LEAN_HOST_MCP_MODULE_CACHE_CAPACITY=0", { "LEAN_HOST_MCP_MODULE_CACHE_CAPACITY (env)" } },
                { NULL, "LEAN_HOST_MCP_MODULE_CACHE_MAX_BYTES=0", { "LEAN_HOST_MCP_MODULE_CACHE_MAX_BYTES (env)" } },
                { NULL, "LEAN_HOST_MCP_MODULE_CACHE_RSS_GUARD_KIB=0", { "LEAN_HOST_MCP_MODULE_CACHE_RSS_GUARD_KIB (env)" } },
                { "{\"memory\":{\"worker_rss_hard_kill_kib\":0}}", NULL,
                  { "memory.worker_rss_hard_kill_kib (file @)", "> 0" } },
                { "{\"memory\":{\"import_switch_rss_soft_kib\":0}}", NULL, { "memory.import_switch_rss_soft_kib (file @)" } },
                { "{\"daemon\":{\"max_line_bytes\":0}}", NULL, { "daemon.max_line_bytes (file @)" } },

                /* bad numbers */
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=eight", { "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY (env)", "'eight'" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=-5", { "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY (env)", "'-5'" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=+5", { "(env)", "'+5'" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY= 5", { "(env)" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=5 ", { "(env)" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=0x10", { "(env)" } },
                { NULL, "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY=", { "LEAN_HOST_MCP_PROJECT_MAILBOX_CAPACITY (env)" } },
                { NULL, "LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=99999999999999999999999", { "(env)", "out of range" } },
                { NULL, "LEAN_HOST_MCP_MAX_CONNECTIONS=4294967296", { "LEAN_HOST_MCP_MAX_CONNECTIONS (env)", "too large" } },
                { "{\"project\":{\"mailbox_capacity\":-5}}", NULL, { "project.mailbox_capacity (file @)", "negative" } },
                { "{\"project\":{\"mailbox_capacity\":1.5}}", NULL, { "project.mailbox_capacity (file @)", "integer" } },
                { "{\"project\":{\"mailbox_capacity\":1e3}}", NULL, { "project.mailbox_capacity (file @)" } },
                { "{\"project\":{\"mailbox_capacity\":\"8\"}}", NULL, { "project.mailbox_capacity (file @)", "got a string" } },
                { "{\"project\":{\"mailbox_capacity\":null}}", NULL, { "project.mailbox_capacity (file @)", "null" } },
                { "{\"project\":{\"mailbox_capacity\":99999999999999999999999}}", NULL, { "project.mailbox_capacity (file @)", "too large" } },

                /* sanity bounds */
                { NULL, "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS=60001", { "LEAN_HOST_MCP_WORKER_RSS_SAMPLE_MILLIS (env)", "60000" } },
                { NULL, "LEAN_HOST_MCP_MAX_LINE_BYTES=4095", { "LEAN_HOST_MCP_MAX_LINE_BYTES (env)", "4096" } },
                { "{\"daemon\":{\"max_line_bytes\":100}}", NULL, { "daemon.max_line_bytes (file @)", ">= 4096" } },
                { NULL, "LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS=3601", { "LEAN_HOST_MCP_PROGRESS_INTERVAL_SECS (env)", "3600" } },
                { "{\"daemon\":{\"progress_interval_secs\":-1}}", NULL, { "daemon.progress_interval_secs (file @)" } },

                /* tier order, both ways, from env and from the file */
                { NULL, "LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB=20971520",
                  { "post_job=20971520 KiB exceeds hard_kill=16777216 KiB", "need import_switch <= post_job <= hard_kill",
                    "env LEAN_HOST_MCP_WORKER_RSS_POST_JOB_RESTART_KIB", "memory.worker_rss_hard_kill_kib (default)" } },
                { NULL, "LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB=6291456",
                  { "import_switch=6291456 KiB exceeds post_job=5242880 KiB", "need import_switch <= post_job <= hard_kill",
                    "env LEAN_HOST_MCP_IMPORT_SWITCH_RSS_SOFT_KIB" } },
                { "{\"memory\":{\"worker_rss_hard_kill_kib\":1048576}}", NULL,
                  { "post_job=5242880 KiB exceeds hard_kill=1048576 KiB", "memory.worker_rss_hard_kill_kib (file @)" } },
                { "{\"memory\":{\"worker_rss_post_job_restart_kib\":1024}}", NULL,
                  { "import_switch=2097152 KiB exceeds post_job=1024 KiB", "memory.worker_rss_post_job_restart_kib (file @)" } },

                /* unknown keys and sections, wrong shapes */
                { "{\"memory\":{\"worker_rss_hard_kill\":1}}", NULL, { "file @", "unknown key 'memory.worker_rss_hard_kill'" } },
                { "{\"memroy\":{}}", NULL, { "file @", "unknown section 'memroy'" } },
                { "{\"memory\":5}", NULL, { "file @", "section 'memory' must be an object" } },
                { "[1,2]", NULL, { "file @", "top level must be a JSON object" } },
                { "{\"worker\":{\"slice\":\"lean\"}}", NULL, { "worker.slice (file @)", "slice" } },
                { NULL, "LEAN_HOST_MCP_SLICE=a/b.slice", { "LEAN_HOST_MCP_SLICE (env)" } },
                { "{\"repl\":{\"cache_dir\":\"relative/dir\"}}", NULL, { "repl.cache_dir (file @)", "absolute path" } },
                { NULL, "LEAN_HOST_MCP_REPL_SOURCE=just-words", { "LEAN_HOST_MCP_REPL_SOURCE (env)", "git URL" } },
                { NULL, "LEAN_HOST_MCP_ELAN_HOME=.elan", { "LEAN_HOST_MCP_ELAN_HOME (env)", "absolute path" } },

                /* enums */
                { NULL, "LEAN_HOST_MCP_ENFORCEMENT=cgroup", { "LEAN_HOST_MCP_ENFORCEMENT (env)", "'cgroup'" } },
                { "{\"worker\":{\"enforcement\":\"Scope\"}}", NULL, { "worker.enforcement (file @)", "'Scope'" } },
                { "{\"worker\":{\"enforcement\":1}}", NULL, { "worker.enforcement (file @)", "expected a string" } },
                { NULL, "LEAN_HOST_MCP_LOG_LEVEL=loud", { "LEAN_HOST_MCP_LOG_LEVEL (env)", "'loud'" } },

                /* syntax */
                { "{\"project\":{\"mailbox_capacity\":4}} x", NULL, { "file @", "trailing garbage", "line 1" } },
                { "{\"project\":{\"mailbox_capacity\":4}}\n{}", NULL, { "file @", "line 2" } },
                { "{\"project\":{\"mailbox_capacity\":4,}}", NULL, { "file @", "syntax error" } },
                { "{\"project\":", NULL, { "file @", "end of input" } },
                { "", NULL, { "file @", "end of input" } },
                { "// comment\n{}", NULL, { "file @", "syntax error" } },
                { "{\"worker\":{\"slice\":\"x\xff.slice\"}}", NULL, { "file @", "UTF-8" } },
                { NULL, "LEAN_HOST_MCP_SLICE=x\xc3.slice", { "LEAN_HOST_MCP_SLICE (env)", "UTF-8" } },
                { "{\"worker\":{\"slice\":\"x\\u0000.slice\"}}", NULL, { "worker.slice (file @)", "NUL" } },

                /* worker command */
                { "{\"worker\":{\"command\":[]}}", NULL, { "worker.command (file @)", "empty" } },
                { "{\"worker\":{\"command\":[\"lake\", 5]}}", NULL, { "worker.command (file @)", "element 1" } },
                { "{\"worker\":{\"command\":[\"\"]}}", NULL, { "worker.command (file @)" } },
                { "{\"worker\":{\"command\":5}}", NULL, { "worker.command (file @)", "array of strings or a string" } },
                { "{\"worker\":{\"command\":\"'lake env\"}}", NULL, { "worker.command (file @)", "quote" } },
                { NULL, "LEAN_HOST_MCP_WORKER_COMMAND=", { "LEAN_HOST_MCP_WORKER_COMMAND (env)", "empty" } },
                { NULL, "LEAN_HOST_MCP_WORKER_COMMAND=[\"lake\"", { "LEAN_HOST_MCP_WORKER_COMMAND (env)", "JSON array" } },
                { NULL, "LEAN_HOST_MCP_WORKER_COMMAND=[\"lake\"] x", { "LEAN_HOST_MCP_WORKER_COMMAND (env)" } },
                { NULL, "LEAN_HOST_MCP_WORKER_COMMAND=[1]", { "LEAN_HOST_MCP_WORKER_COMMAND (env)", "element 0" } },
                { NULL, "LEAN_HOST_MCP_WORKER_COMMAND=lake \"env", { "LEAN_HOST_MCP_WORKER_COMMAND (env)", "quote" } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                LhConfig c = {};
                _cleanup_free_ char *err = NULL;
                char **envp = ENVP((char *) cases[i].env);
                int r;

                if (!cases[i].env)
                        envp[1] = NULL;
                r = load(&c, cases[i].file, envp, &err);
                if (r >= 0)
                        fprintf(stderr, "case %zu (%s / %s) was accepted\n", i, strna(cases[i].file), strna(cases[i].env));
                ASSERT_TRUE(r < 0);
                ASSERT_TRUE(err);
                for (size_t j = 0; j < ELEMENTSOF(cases[i].expect) && cases[i].expect[j]; j++) {
                        /* '@' stands for the temp file's path */
                        _cleanup_free_ char *want = NULL;
                        const char *at = strchr(cases[i].expect[j], '@');
                        if (at)
                                ASSERT_TRUE(asprintf(&want, "%.*s%s%s", (int) (at - cases[i].expect[j]),
                                                     cases[i].expect[j], cfgpath, at + 1) > 0);
                        if (!strstr(err, want ?: cases[i].expect[j]))
                                fprintf(stderr, "case %zu: message '%s'\n", i, err);
                        ASSERT_CONTAINS(err, want ?: cases[i].expect[j]);
                }
                config_done(&c);
        }
}

static void test_file_errors(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL, *missing = path_join(tmpdir, "missing.json");

        /* an explicit file must exist */
        ASSERT_ERROR(config_load(&c, missing, ENVP(), &err), ENOENT);
        ASSERT_CONTAINS(err, missing);
        config_done(&c);
        err = mfree(err);

        /* a directory is not a config file */
        ASSERT_ERROR(config_load(&c, tmpdir, ENVP(), &err), EISDIR);
        ASSERT_CONTAINS(err, tmpdir);
        config_done(&c);
        err = mfree(err);

        /* a NUL byte in the file */
        write_file(cfgpath, "{}\0", 3);
        ASSERT_TRUE(config_load(&c, cfgpath, ENVP(), &err) < 0);
        ASSERT_CONTAINS(err, cfgpath);
        config_done(&c);
}

static void test_default_paths(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL, *xdg = path_join(tmpdir, "xdg"), *home = path_join(tmpdir, "home"),
                            *xdg_file = path_join(xdg, "lean-host/config.json"),
                            *home_file = path_join(home, ".config/lean-host/config.json"),
                            *xdg_env = NULL, *home_env = NULL;
        const char *content_x = "{\"project\":{\"mailbox_capacity\":5}}";
        const char *content_h = "{\"project\":{\"mailbox_capacity\":6}}";

        write_file(xdg_file, content_x, strlen(content_x));
        write_file(home_file, content_h, strlen(content_h));
        ASSERT_TRUE(asprintf(&xdg_env, "XDG_CONFIG_HOME=%s", xdg) > 0);
        ASSERT_TRUE(asprintf(&home_env, "HOME=%s", home) > 0);

        /* $XDG_CONFIG_HOME wins over ~/.config */
        ASSERT_OK(config_load(&c, NULL, (char *[]) { xdg_env, home_env, NULL }, &err));
        ASSERT_EQ(c.mailbox_capacity, 5);
        ASSERT_STREQ(c.config_file, xdg_file);
        config_done(&c);

        /* without it, ~/.config */
        ASSERT_OK(config_load(&c, NULL, (char *[]) { home_env, NULL }, &err));
        ASSERT_EQ(c.mailbox_capacity, 6);
        ASSERT_STREQ(c.config_file, home_file);
        config_done(&c);

        /* a relative XDG_CONFIG_HOME is ignored */
        ASSERT_OK(config_load(&c, NULL, (char *[]) { "XDG_CONFIG_HOME=relative", home_env, NULL }, &err));
        ASSERT_STREQ(c.config_file, home_file);
        config_done(&c);

        /* an explicit path overrides the search */
        write_file(cfgpath, "{}", 2);
        ASSERT_OK(config_load(&c, cfgpath, (char *[]) { xdg_env, NULL }, &err));
        ASSERT_EQ(c.mailbox_capacity, 8);
        ASSERT_STREQ(c.config_file, cfgpath);
        config_done(&c);

        /* a broken default file is an error, not skipped */
        write_file(xdg_file, "{", 1);
        ASSERT_TRUE(config_load(&c, NULL, (char *[]) { xdg_env, NULL }, &err) < 0);
        ASSERT_CONTAINS(err, xdg_file);
        config_done(&c);
}

static void check_command(const char *file, const char *env, ...) {
        _cleanup_strv_free_ char **want = NULL;
        _cleanup_free_ char *err = NULL, *envvar = NULL;
        LhConfig c = {};
        va_list ap;

        va_start(ap, env);
        for (const char *s; (s = va_arg(ap, const char *));)
                ASSERT_OK(strv_extend(&want, s));
        va_end(ap);

        if (env)
                ASSERT_TRUE(asprintf(&envvar, "LEAN_HOST_MCP_WORKER_COMMAND=%s", env) > 0);
        ASSERT_OK(load(&c, file, ENVP(envvar), &err));
        ASSERT_TRUE(c.worker_command);
        if (!strv_equal(c.worker_command, want)) {
                _cleanup_free_ char *got = strv_join(c.worker_command, "|");
                fprintf(stderr, "command: got %s\n", got);
        }
        ASSERT_TRUE(strv_equal(c.worker_command, want));
        ASSERT_EQ(config_get_source(&c, "worker.command"), env ? CONFIG_SOURCE_ENV : CONFIG_SOURCE_FILE);
        config_done(&c);
}

static void test_worker_command(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL;

        /* env: split words, with quoting */
        check_command(NULL, "lake env repl", "lake", "env", "repl", NULL);
        check_command(NULL, "'/opt/my lean/repl' --flag \"a b\" c\\ d", "/opt/my lean/repl", "--flag", "a b", "c d", NULL);
        /* env: JSON array */
        check_command(NULL, "[\"/opt/my lean/repl\", \"--x=$HOME\"]", "/opt/my lean/repl", "--x=$HOME", NULL);
        check_command(NULL, "  [\"repl\"] ", "repl", NULL);
        /* file: array or string */
        check_command("{\"worker\":{\"command\":[\"lake\",\"env\",\"repl\"]}}", NULL, "lake", "env", "repl", NULL);
        check_command("{\"worker\":{\"command\":\"lake 'env' repl\"}}", NULL, "lake", "env", "repl", NULL);
        /* env overrides file */
        check_command("{\"worker\":{\"command\":[\"from-file\"]}}", "from-env", "from-env", NULL);

        /* file null: resolve per project, as the default */
        ASSERT_OK(load(&c, "{\"worker\":{\"command\":null}}", ENVP(), &err));
        ASSERT_TRUE(c.worker_command == NULL);
        config_done(&c);
}

static void test_dump(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL, *out = NULL, *want_file = NULL, *want_cmd = NULL;

        ASSERT_OK(load(&c,
                       "{\"project\":{\"mailbox_capacity\":4},\"worker\":{\"command\":[\"lake\",\"env\",\"a b\"]}}",
                       ENVP("LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS=90000", "LEAN_HOST_MCP_ENFORCEMENT=scope"), &err));
        ASSERT_OK(config_set(&c, "LEAN_HOST_MCP_LOG_LEVEL", "debug", CONFIG_SOURCE_CMDLINE, &err));
        out = dump(&c);

        ASSERT_CONTAINS(out, "memory.worker_rss_hard_kill_kib = 16777216  (default)\n");
        ASSERT_CONTAINS(out, "project.request_timeout_millis = 90000  (env LEAN_HOST_MCP_REQUEST_TIMEOUT_MILLIS)\n");
        ASSERT_CONTAINS(out, "worker.enforcement = scope  (env LEAN_HOST_MCP_ENFORCEMENT)\n");
        ASSERT_TRUE(asprintf(&want_file, "project.mailbox_capacity = 4  (file %s)\n", cfgpath) > 0);
        ASSERT_CONTAINS(out, want_file);
        ASSERT_TRUE(asprintf(&want_cmd, "worker.command = [\"lake\",\"env\",\"a b\"]  (file %s)\n", cfgpath) > 0);
        ASSERT_CONTAINS(out, want_cmd);
        ASSERT_CONTAINS(out, "worker.slice = lean-host.slice  (default)\n");
        ASSERT_CONTAINS(out, "daemon.log_level = debug  (command line)\n");
        ASSERT_CONTAINS(out, "daemon.idle_exit_secs = 300  (default)\n");
        /* every key appears */
        for (size_t i = 0; i < config_n_keys(); i++) {
                _cleanup_free_ char *k = NULL;
                ASSERT_TRUE(asprintf(&k, "%s = ", config_key_name(i)) > 0);
                ASSERT_CONTAINS(out, k);
        }
        config_done(&c);
}

static void test_max_workers_auto(void) {
        _cleanup_free_ char *meminfo = path_join(tmpdir, "meminfo");
        const char *text = "MemTotal:       32768000 kB\nMemFree:         1000 kB\n";
        uint64_t kib;

        ASSERT_EQ(config_auto_max_workers(64 * KIB_PER_GIB, 5 * KIB_PER_GIB), 8);  /* 12, clamped */
        ASSERT_EQ(config_auto_max_workers(16 * KIB_PER_GIB, 5 * KIB_PER_GIB), 3);
        ASSERT_EQ(config_auto_max_workers(4 * KIB_PER_GIB, 5 * KIB_PER_GIB), 1);   /* 0, clamped */
        ASSERT_EQ(config_auto_max_workers(40 * KIB_PER_GIB, 5 * KIB_PER_GIB), 8);
        ASSERT_EQ(config_auto_max_workers(39 * KIB_PER_GIB, 5 * KIB_PER_GIB), 7);

        write_file(meminfo, text, strlen(text));
        ASSERT_OK(config_read_memtotal_kib(meminfo, &kib));
        ASSERT_EQ(kib, 32768000);
        write_file(meminfo, "MemFree: 5 kB\n", 14);
        ASSERT_TRUE(config_read_memtotal_kib(meminfo, &kib) < 0);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(p) < 0 ? -1 : 0;
}

static void test_sandbox_key(void) {
        LhConfig c = {};
        _cleanup_free_ char *err = NULL, *out = NULL;

        /* default none; the file sets bwrap; the env wins over the file */
        ASSERT_OK(load(&c, "{}", ENVP(), &err));
        ASSERT_EQ(c.sandbox, SANDBOX_NONE);
        config_done(&c);
        ASSERT_OK(load(&c, "{\"worker\": {\"sandbox\": \"bwrap\"}}", ENVP(), &err));
        ASSERT_EQ(c.sandbox, SANDBOX_BWRAP);
        ASSERT_EQ(config_get_source(&c, "worker.sandbox"), CONFIG_SOURCE_FILE);
        config_done(&c);
        ASSERT_OK(load(&c, "{\"worker\": {\"sandbox\": \"bwrap\"}}", ENVP("LEAN_HOST_MCP_SANDBOX=none"), &err));
        ASSERT_EQ(c.sandbox, SANDBOX_NONE);
        ASSERT_EQ(config_get_source(&c, "LEAN_HOST_MCP_SANDBOX"), CONFIG_SOURCE_ENV);
        out = dump(&c);
        ASSERT_CONTAINS(out, "worker.sandbox = none  (env LEAN_HOST_MCP_SANDBOX)\n");
        config_done(&c);

        /* unknown values and wrong types name the key and the choices */
        ASSERT_TRUE(load(&c, "{\"worker\": {\"sandbox\": \"firejail\"}}", ENVP(), &err) < 0);
        ASSERT_CONTAINS(err, "worker.sandbox (file ");
        ASSERT_CONTAINS(err, "unknown value 'firejail' (expected none or bwrap)");
        config_done(&c);
        err = mfree(err);
        ASSERT_TRUE(load(&c, "{\"worker\": {\"sandbox\": true}}", ENVP(), &err) < 0);
        ASSERT_CONTAINS(err, "worker.sandbox");
        config_done(&c);
        err = mfree(err);
        ASSERT_TRUE(load(&c, NULL, ENVP("LEAN_HOST_MCP_SANDBOX=BWRAP"), &err) < 0);
        ASSERT_CONTAINS(err, "LEAN_HOST_MCP_SANDBOX (env): unknown value 'BWRAP'");
        config_done(&c);
}

int main(void) {
        ASSERT_TRUE(mkdtemp(tmpdir));
        snprintf(cfgpath, sizeof cfgpath, "%s/config.json", tmpdir);
        /* the unknown-variable warning goes to stderr, not the journal */
        log_setup("test-config", LOG_TARGET_STDERR);

        test_table();
        test_defaults();
        test_precedence();
        test_every_key_roundtrip();
        test_rejections();
        test_file_errors();
        test_default_paths();
        test_worker_command();
        test_dump();
        test_max_workers_auto();
        test_sandbox_key();

        (void) nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
