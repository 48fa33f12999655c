/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* lean-hostctl doctor [PROJECT]: what a real machine needs, checked in the
 * order a user would fix it, each failure with the command that fixes it.
 *
 *   user-manager        a systemd user manager answers on the user bus (scopes need it)
 *   cgroup              v2 (unified); hybrid/v1 cannot enforce MemoryHigh
 *   memory-delegation   user@UID.service's cgroup.subtree_control has "memory"
 *   memory-limits       MemoryHigh/MemoryMax enforceable for the user's scopes
 *   swap                swap lets a worker page out before the hard tier
 *   socket              lean-hostd answers on its socket
 * with PROJECT:
 *   project, elan, toolchain (lake), version (supported range), repl
 *   tool:<name>         every MCP tool once, when the REPL is there and the daemon answers
 *
 * Reads what the daemon would read (the same config: lean.elan_home,
 * repl.*), runs nothing of the project's itself: the tools go through the
 * daemon. */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include "lh-build-config.h"

#include "basic/fileio.h"
#include "basic/json-util.h"
#include "basic/path-util.h"
#include "basic/socket-path.h"
#include "basic/string-table.h"
#include "basic/strv.h"
#include "config/config.h"
#include "ctl/doctor.h"
#include "lean/readiness.h"
#include "lean/toolchain.h"

typedef enum CheckStatus {
        CHECK_PASS,
        CHECK_INFO,
        CHECK_WARN,
        CHECK_FAIL,
        CHECK_SKIP,
        _CHECK_MAX,
} CheckStatus;

static const char *const check_status_table[_CHECK_MAX] = {
        [CHECK_PASS] = "pass", [CHECK_INFO] = "info", [CHECK_WARN] = "warn",
        [CHECK_FAIL] = "fail", [CHECK_SKIP] = "skip",
};

DEFINE_PRIVATE_STRING_TABLE_LOOKUP_TO_STRING(check_status, CheckStatus);

typedef struct Doctor {
        bool json, color;
        json_object *checks;   /* array, --json */
        unsigned counts[_CHECK_MAX];
        LhConfig config;
        char *cgroup_root;     /* /sys/fs/cgroup, LEAN_HOST_CGROUP_ROOT in tests */
        bool cgroup_v2;
        bool socket_ok;
        char *socket_path;
} Doctor;

static void report(Doctor *d, const char *name, CheckStatus s, char *fix, const char *format, ...) _printf_(5, 6);
static void report(Doctor *d, const char *name, CheckStatus s, char *fix, const char *format, ...) {
        static const char *const colors[_CHECK_MAX] = {
                [CHECK_PASS] = "\x1b[0;32m", [CHECK_INFO] = "\x1b[0;38;5;245m", [CHECK_WARN] = "\x1b[0;33m",
                [CHECK_FAIL] = "\x1b[0;31m", [CHECK_SKIP] = "\x1b[0;38;5;245m",
        };
        _cleanup_free_ char *detail = NULL;
        _unused_ _cleanup_free_ char *fix_owned = fix; /* ours: freed on every return */
        va_list ap;
        int k;

        va_start(ap, format);
        k = vasprintf(&detail, format, ap);
        va_end(ap);
        if (k < 0)
                detail = NULL;
        d->counts[s]++;
        if (d->json) {
                json_object *o = json_object_new_object();

                if (!o || json_add(o, "name", json_object_new_string(name)) < 0 ||
                    json_add(o, "status", json_object_new_string(check_status_to_string(s))) < 0 ||
                    json_add(o, "detail", json_object_new_string(strempty(detail))) < 0 ||
                    (fix && json_add(o, "fix", json_object_new_string(fix)) < 0) ||
                    json_object_array_add(d->checks, o) < 0)
                        json_object_put(o);
                return;
        }
        printf("%s%-4s%s  %-18s %s\n", d->color ? colors[s] : "", check_status_to_string(s), d->color ? "\x1b[0m" : "",
               name, strempty(detail));
        if (fix)
                printf("      %-18s fix: %s\n", "", fix);
}

/* ---- the machine ------------------------------------------------------------------ */

static void check_user_manager(Doctor *d) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_open_user(&bus);
        if (r < 0) {
                report(d, "user-manager", CHECK_WARN,
                       strdup("log in through a session that starts `systemd --user` (or: loginctl enable-linger "
                              "$USER), with dbus-user-session installed"),
                       "no user bus (%s): workers run in process mode, limits enforced by lean-hostd alone",
                       strerror(-r));
                return;
        }
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "Version", &error, &version);
        if (r < 0)
                report(d, "user-manager", CHECK_WARN,
                       strdup("systemctl --user status (the user manager must own org.freedesktop.systemd1 "
                              "on the user bus)"),
                       "the user bus answers but no systemd user manager does (%s): process mode",
                       error.message ?: strerror(-r));
        else
                report(d, "user-manager", CHECK_PASS, NULL, "systemd %s answers on the user bus", version);
        sd_bus_flush_close_unref(bus);
}

/* In place: without trailing whitespace; "" stays "". */
static const char *trim(char *s) {
        size_t n = s ? strlen(s) : 0;

        while (n > 0 && strchr(" \t\r\n", s[n - 1]))
                s[--n] = 0;
        return s ? s : "";
}

static bool file_exists(const char *dir, const char *name) {
        _cleanup_free_ char *p = path_join(dir, name);

        return p && access(p, F_OK) == 0;
}

static void check_cgroup(Doctor *d) {
        _cleanup_free_ char *unified = path_join(d->cgroup_root, "unified");

        if (file_exists(d->cgroup_root, "cgroup.controllers")) {
                d->cgroup_v2 = true;
                report(d, "cgroup", CHECK_PASS, NULL, "cgroup v2 (unified hierarchy) at %s", d->cgroup_root);
        } else if (unified && file_exists(unified, "cgroup.controllers"))
                report(d, "cgroup", CHECK_WARN,
                       strdup("boot with systemd.unified_cgroup_hierarchy=1 (kernel command line)"),
                       "hybrid hierarchy (cgroup v1 controllers + v2 at %s): the memory controller is v1, "
                       "MemoryHigh is not enforced by the kernel", unified);
        else
                report(d, "cgroup", CHECK_WARN,
                       strdup("boot with systemd.unified_cgroup_hierarchy=1 (kernel command line)"),
                       "cgroup v1: MemoryHigh is not enforced by the kernel; lean-hostd's own sampling covers "
                       "the post-job tier");
}

static char *user_service_cgroup(Doctor *d) {
        _cleanup_free_ char *slice = NULL, *service = NULL;
        unsigned uid = (unsigned) getuid();

        if (asprintf(&slice, "user-%u.slice", uid) < 0 || asprintf(&service, "user@%u.service", uid) < 0)
                return NULL;
        return path_join(d->cgroup_root, "user.slice", slice, service);
}

static void check_memory(Doctor *d) {
        _cleanup_free_ char *svc = user_service_cgroup(d), *ctl = NULL, *text = NULL;
        int r;

        if (!d->cgroup_v2) {
                report(d, "memory-delegation", CHECK_SKIP, NULL, "needs cgroup v2");
                report(d, "memory-limits", CHECK_SKIP, NULL, "needs cgroup v2");
                return;
        }
        ctl = svc ? path_join(svc, "cgroup.subtree_control") : NULL;
        r = ctl ? read_full_file(ctl, 4096, &text, NULL) : -ENOMEM;
        if (r < 0)
                report(d, "memory-delegation", CHECK_FAIL,
                       strdup("start a user session (loginctl enable-linger $USER) so user@UID.service exists"),
                       "cannot read %s: %s", strna(ctl), strerror(-r));
        else {
                _cleanup_strv_free_ char **l = NULL;

                if (strv_split_words(text, &l) >= 0 && strv_contains(l, "memory"))
                        report(d, "memory-delegation", CHECK_PASS, NULL,
                               "the memory controller is delegated to the user manager (%s)", ctl);
                else
                        report(d, "memory-delegation", CHECK_FAIL,
                               strdup("as root: mkdir -p /etc/systemd/system/user@.service.d && printf "
                                      "'[Service]\\nDelegate=cpu cpuset io memory pids\\n' > "
                                      "/etc/systemd/system/user@.service.d/delegate.conf && systemctl daemon-reload; "
                                      "then log in again"),
                               "%s has no \"memory\" (%s): the user manager cannot set MemoryHigh/MemoryMax",
                               ctl, isempty(trim(text)) ? "empty" : text);
        }
        if (svc && file_exists(svc, "memory.max") && file_exists(svc, "memory.high"))
                report(d, "memory-limits", CHECK_PASS, NULL,
                       "memory.high and memory.max exist under %s: MemoryHigh/MemoryMax are enforced", svc);
        else
                report(d, "memory-limits", CHECK_FAIL,
                       strdup("delegate memory to user@.service (see memory-delegation) and log in again"),
                       "%s has no memory.high/memory.max: scope limits would not be enforced", strna(svc));
}

static void check_swap(Doctor *d) {
        _cleanup_free_ char *text = NULL;
        unsigned long long kib = 0;
        const char *p;

        if (read_full_file("/proc/meminfo", 0, &text, NULL) < 0 || !(p = strstr(text, "SwapTotal:")) ||
            sscanf(p, "SwapTotal: %llu kB", &kib) != 1) {
                report(d, "swap", CHECK_SKIP, NULL, "cannot read SwapTotal from /proc/meminfo");
                return;
        }
        if (kib == 0)
                report(d, "swap", CHECK_PASS, NULL, "no swap: a worker past the hard tier is killed at once");
        else
                report(d, "swap", CHECK_INFO, NULL,
                       "%llu MiB of swap: a worker over MemoryHigh pages out (slowly) before the hard tier; "
                       "lean-host's tiers count resident anonymous memory only", kib / 1024);
}

static int socket_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = -errno;

                close(fd);
                return e;
        }
        return fd;
}

static void check_socket(Doctor *d) {
        int fd;

        if (socket_path_default(&d->socket_path) < 0) {
                report(d, "socket", CHECK_FAIL, NULL, "out of memory");
                return;
        }
        fd = socket_connect(d->socket_path);
        if (fd >= 0) {
                close(fd);
                d->socket_ok = true;
                report(d, "socket", CHECK_PASS, NULL, "lean-hostd answers on %s", d->socket_path);
                return;
        }
        report(d, "socket", CHECK_FAIL,
               strdup_printf("systemctl --user enable --now lean-hostd.socket (without a user manager: "
                             "lean-hostd --listen %s &)", d->socket_path),
               "nothing answers on %s: %s", d->socket_path, strerror(-fd));
}

/* ---- the project --------------------------------------------------------------------- */

static void check_project_toolchain(Doctor *d, const LeanReadiness *rd) {
        _cleanup_free_ char *elan = lean_elan_home(d->config.elan_home);
        const LeanToolchain *t = &rd->toolchain;
        struct stat st;
        bool has_elan = elan && stat(elan, &st) == 0 && S_ISDIR(st.st_mode);

        if (has_elan)
                report(d, "elan", CHECK_PASS, NULL, "elan home %s", elan);
        else
                report(d, "elan", rd->lake_path ? CHECK_WARN : CHECK_FAIL,
                       strdup("curl https://elan.lean-lang.org/elan-init.sh -sSf | sh -s -- -y --default-toolchain none"),
                       "no elan home at %s%s", strna(elan),
                       rd->lake_path ? ": lake from PATH is used and the pin is not checked" : "");

        if (rd->state == LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED)
                report(d, "toolchain", CHECK_FAIL, rd->fix ? strdup(rd->fix) : NULL, "%s", rd->message);
        else if (rd->lake_path)
                report(d, "toolchain", CHECK_PASS, NULL, "%s: lake %s", t->pin ?: "no lean-toolchain (elan's default)",
                       rd->lake_path);
        else
                report(d, "toolchain", CHECK_SKIP, NULL, "%s", rd->message);

        if (!t->pin)
                report(d, "version", CHECK_WARN, strdup("write the toolchain the project builds with to lean-toolchain"),
                       "no lean-toolchain: the Lean version is whatever elan's default is");
        else if (!t->release)
                report(d, "version", CHECK_WARN, NULL, "%s is not a release: no known REPL compatibility", t->pin);
        else if (rd->state == LEAN_READINESS_UNSUPPORTED)
                report(d, "version", CHECK_FAIL, NULL, "%s", rd->message);
        else
                report(d, "version", CHECK_PASS, NULL, "%s is within the supported range (%s or newer)", t->pin,
                       LEAN_REPL_MIN_STRING);
}

static void check_project_repl(Doctor *d, const LeanReadiness *rd) {
        _cleanup_free_ char *text = NULL;
        LeanReplRevisions revs = {};
        const char *rev;

        if (lean_readiness_state_is_usable(rd->state)) {
                report(d, "repl", CHECK_PASS, NULL, "%s env %s", strna(rd->lake_path), strna(rd->repl_path));
                return;
        }
        if (rd->state != LEAN_READINESS_NOT_INSTALLED) {
                if (rd->state == LEAN_READINESS_TOOLCHAIN_NOT_INSTALLED)
                        report(d, "repl", CHECK_SKIP, NULL, "needs the toolchain first");
                else
                        report(d, "repl", CHECK_FAIL, rd->fix ? strdup(rd->fix) : NULL, "%s", rd->message);
                return;
        }
        /* none yet: can lean-host build it? */
        if (!rd->repl_cache_dir) {
                report(d, "repl", CHECK_FAIL, NULL, "%s", rd->message);
                return;
        }
        if (read_full_file(d->config.repl_revisions_file, 0, &text, NULL) < 0 ||
            lean_repl_revisions_parse(text, &revs, NULL) < 0) {
                report(d, "repl", CHECK_FAIL,
                       strdup_printf("restore %s (data/repl-revisions of lean-host) or set repl.revisions_file",
                                     d->config.repl_revisions_file),
                       "no REPL yet, and the revision table %s cannot be read", d->config.repl_revisions_file);
                return;
        }
        rev = lean_repl_revisions_find(&revs, &rd->toolchain);
        if (rev)
                report(d, "repl", CHECK_INFO, NULL,
                       "not built yet: lean-host builds it on the first call (minutes, once) from %s at %s into %s",
                       d->config.repl_source, rev, rd->repl_cache_dir);
        else if (path_is_absolute(d->config.repl_source))
                report(d, "repl", CHECK_INFO, NULL,
                       "not built yet: lean-host builds it on the first call from the checkout %s (HEAD: no "
                       "revision for %s in %s)", d->config.repl_source, rd->toolchain.pin,
                       d->config.repl_revisions_file);
        else
                report(d, "repl", CHECK_FAIL,
                       strdup_printf("add a line \"%s <commit>\" to a copy of %s and set repl.revisions_file to it, "
                                     "or set repl.source to a local REPL checkout that builds with %s",
                                     rd->toolchain.pin, d->config.repl_revisions_file, rd->toolchain.pin),
                       "no REPL revision is known for %s", rd->toolchain.pin);
        lean_repl_revisions_done(&revs);
}

/* ---- every tool once, through the daemon ------------------------------------------------ */

#define TOOL_TIMEOUT_MS (300 * 1000)

static int mcp_send(int fd, json_object *msg) {
        const char *s = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t n = strlen(s);

        for (size_t done = 0; done < n;) {
                ssize_t k = write(fd, s + done, n - done);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += (size_t) k;
        }
        return write(fd, "\n", 1) == 1 ? 0 : -EIO;
}

/* The response with this id (notifications skipped). */
static int mcp_recv(int fd, int64_t id, char **buf, size_t *len, json_object **ret) {
        struct timespec start;

        clock_gettime(CLOCK_MONOTONIC, &start);
        for (;;) {
                char *nl = *len > 0 ? memchr(*buf, '\n', *len) : NULL;

                if (nl) {
                        json_tokener *tok = json_tokener_new();
                        json_object *o = tok ? json_tokener_parse_ex(tok, *buf, (int) (nl - *buf)) : NULL, *v;
                        size_t used = nl - *buf + 1;

                        if (tok)
                                json_tokener_free(tok);
                        memmove(*buf, nl + 1, *len - used);
                        *len -= used;
                        if (o && json_object_object_get_ex(o, "id", &v) && json_object_get_int64(v) == id) {
                                *ret = o;
                                return 0;
                        }
                        json_object_put(o);
                        continue;
                }

                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                long left = TOOL_TIMEOUT_MS - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
                struct pollfd pfd = { .fd = fd, .events = POLLIN };
                char *nb;
                ssize_t k;

                if (left <= 0)
                        return -ETIMEDOUT;
                if (poll(&pfd, 1, (int) left) <= 0)
                        continue;
                nb = realloc(*buf, *len + 65536 + 1);
                if (!nb)
                        return -ENOMEM;
                *buf = nb;
                k = read(fd, *buf + *len, 65536);
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                *len += (size_t) k;
        }
}

static json_object *mcp_call(int fd, int64_t id, const char *method, json_object *params, char **buf, size_t *len,
                             int *ret_error) {
        _cleanup_(json_object_putp) json_object *msg = json_object_new_object();
        json_object *resp = NULL;
        int r;

        if (!msg || json_add(msg, "jsonrpc", json_object_new_string("2.0")) < 0 ||
            json_add(msg, "id", json_object_new_int64(id)) < 0 ||
            json_add(msg, "method", json_object_new_string(method)) < 0 ||
            (params && json_add(msg, "params", params) < 0)) {
                *ret_error = -ENOMEM;
                return NULL;
        }
        r = mcp_send(fd, msg);
        if (r >= 0)
                r = mcp_recv(fd, id, buf, len, &resp);
        *ret_error = r;
        return resp;
}

static json_object *args_of(const char *project, const char *json_rest) {
        json_object *o;

        o = json_tokener_parse(json_rest);
        if (!o)
                return NULL;
        if (json_add(o, "project", json_object_new_string(project)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

static void check_tools(Doctor *d, const char *root) {
        /* Lean core only, so any project can answer them */
        static const struct {
                const char *name, *args;
        } calls[] = {
                { "lean_project_status", "{}" },
                { "lean_run", "{\"code\": \"#eval 1 + 1\"}" },
                { "lean_module_query", "{\"module\": \"Init.Core\"}" },
                { "lean_module_query_batch", "{\"items\": [{\"module\": \"Init.Core\"}]}" },
                { "lean_declaration_inspect", "{\"name\": \"Nat.add_comm\"}" },
                { "lean_declaration_search", "{\"query\": \"add_comm\", \"max_results\": 5}" },
                { "lean_proof_attempt", "{\"statement\": \"\u2200 n : Nat, n + 0 = n\", \"proof\": \"by intro n; rfl\"}" },
                { "lean_declaration_verify",
                  "{\"code\": \"theorem lean_host_doctor_check : 1 + 1 = 2 := rfl\", \"name\": \"lean_host_doctor_check\"}" },
                { "lean_declaration_verify_batch",
                  "{\"items\": [{\"code\": \"theorem lean_host_doctor_check : 1 + 1 = 2 := rfl\", "
                  "\"name\": \"lean_host_doctor_check\"}]}" },
                { "lean_proof_search", "{\"goal\": \"1 + 1 = 2\", \"tactics\": [\"decide\"], \"time_budget_ms\": 20000}" },
        };
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        json_object *resp;
        int fd, r;

        fd = socket_connect(d->socket_path);
        if (fd < 0) {
                report(d, "tools", CHECK_SKIP, NULL, "lean-hostd does not answer: %s", strerror(-fd));
                return;
        }
        resp = mcp_call(fd, 1, "initialize",
                        json_tokener_parse("{\"protocolVersion\": \"2025-06-18\", \"capabilities\": {}, "
                                           "\"clientInfo\": {\"name\": \"lean-hostctl-doctor\", \"version\": \"" PACKAGE_VERSION "\"}}"),
                        &buf, &len, &r);
        if (!resp || !json_object_object_get_ex(resp, "result", NULL)) {
                report(d, "tools", CHECK_FAIL, NULL, "MCP initialize failed: %s", resp ? json_object_to_json_string(resp) : strerror(-r));
                json_object_put(resp);
                close(fd);
                return;
        }
        json_object_put(resp);
        {
                static const char initialized[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";

                (void) !write(fd, initialized, strlen(initialized));
        }

        for (size_t i = 0; i < ELEMENTSOF(calls); i++) {
                _cleanup_free_ char *name = strdup_printf("tool:%s", calls[i].name);
                json_object *params = json_object_new_object(), *result, *is_error, *content;
                struct timespec a, b;

                if (!name || !params ||
                    json_add(params, "name", json_object_new_string(calls[i].name)) < 0 ||
                    json_add(params, "arguments", args_of(root, calls[i].args)) < 0) {
                        json_object_put(params);
                        report(d, calls[i].name, CHECK_FAIL, NULL, "out of memory");
                        break;
                }
                clock_gettime(CLOCK_MONOTONIC, &a);
                resp = mcp_call(fd, (int64_t) i + 2, "tools/call", params, &buf, &len, &r);
                clock_gettime(CLOCK_MONOTONIC, &b);
                long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
                if (!resp) {
                        report(d, name, CHECK_FAIL, NULL, "no answer: %s", strerror(-r));
                        if (r == -ECONNRESET || r == -EPIPE)
                                break;
                        continue;
                }
                if (!json_object_object_get_ex(resp, "result", &result))
                        report(d, name, CHECK_FAIL, NULL, "JSON-RPC error: %s", json_object_to_json_string(resp));
                else if (json_object_object_get_ex(result, "isError", &is_error) && json_object_get_boolean(is_error)) {
                        json_object *item = NULL, *text = NULL;

                        if (json_object_object_get_ex(result, "content", &content))
                                item = json_object_array_get_idx(content, 0);
                        if (item)
                                json_object_object_get_ex(item, "text", &text);
                        _cleanup_(json_object_putp) json_object *body = text ? json_tokener_parse(json_object_get_string(text)) : NULL;
                        json_object *e = NULL, *code = NULL, *message = NULL;

                        /* the structured error: code and message */
                        if (body && json_object_object_get_ex(body, "error", &e)) {
                                json_object_object_get_ex(e, "code", &code);
                                json_object_object_get_ex(e, "message", &message);
                        }
                        if (code || message)
                                report(d, name, CHECK_FAIL, NULL, "%s: %.400s", strna(json_object_get_string(code)),
                                       strna(json_object_get_string(message)));
                        else
                                report(d, name, CHECK_FAIL, NULL, "%.400s", text ? json_object_get_string(text) : "isError");
                } else
                        report(d, name, CHECK_PASS, NULL, "answered in %ld ms", ms);
                json_object_put(resp);
        }
        close(fd);
}

static void check_project(Doctor *d, const char *arg) {
        _cleanup_(lean_readiness_done) LeanReadiness rd = {};
        _cleanup_free_ char *root = NULL;
        LeanReadinessInput in = {};
        int r;

        r = path_find_lake_root(arg, &root);
        if (r < 0) {
                report(d, "project", CHECK_FAIL, NULL, "%s is not inside a Lake project (no lakefile.lean or "
                       "lakefile.toml above it): %s", arg, strerror(-r));
                return;
        }
        report(d, "project", CHECK_PASS, NULL, "Lake project %s", root);

        in.root = root;
        in.elan_home = d->config.elan_home;
        in.repl_cache = d->config.repl_cache_dir;
        in.custom_worker = !strv_isempty(d->config.worker_command);
        if (lean_readiness_classify(&in, &rd) < 0) {
                report(d, "toolchain", CHECK_FAIL, NULL, "out of memory");
                return;
        }
        if (in.custom_worker) {
                report(d, "toolchain", CHECK_SKIP, NULL, "custom worker command (worker.command): toolchain "
                       "resolution is skipped");
        } else {
                check_project_toolchain(d, &rd);
                check_project_repl(d, &rd);
        }
        if (lean_readiness_state_is_usable(rd.state) && d->socket_ok)
                check_tools(d, root);
        else
                report(d, "tools", CHECK_SKIP, NULL, "%s", !d->socket_ok ? "lean-hostd does not answer"
                                                                         : "the project has no usable REPL yet");
}

int doctor_run(int argc, char *argv[], bool json, bool color) {
        _cleanup_free_ char *error = NULL;
        const char *root_env = getenv("LEAN_HOST_CGROUP_ROOT");
        Doctor d = { .json = json, .color = color };
        int r;

        if (argc > 2) {
                fprintf(stderr, "lean-hostctl: 'doctor' takes at most one PROJECT argument; see --help.\n");
                return 2;
        }
        d.checks = json_object_new_array();
        d.cgroup_root = strdup(!isempty(root_env) ? root_env : "/sys/fs/cgroup");
        if (!d.checks || !d.cgroup_root)
                return 1;

        r = config_load(&d.config, NULL, environ, &error);
        if (r < 0) {
                report(&d, "config", CHECK_FAIL, NULL, "%s", strna(error));
                config_init_defaults(&d.config);
        }

        check_user_manager(&d);
        check_cgroup(&d);
        check_memory(&d);
        check_swap(&d);
        check_socket(&d);
        if (argc == 2)
                check_project(&d, argv[1]);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();

                if (o && json_add(o, "checks", json_object_get(d.checks)) >= 0 &&
                    json_add(o, "passed", json_object_new_uint64(d.counts[CHECK_PASS])) >= 0 &&
                    json_add(o, "warnings", json_object_new_uint64(d.counts[CHECK_WARN])) >= 0 &&
                    json_add(o, "failed", json_object_new_uint64(d.counts[CHECK_FAIL])) >= 0)
                        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                                          JSON_C_TO_STRING_NOSLASHESCAPE));
        } else
                printf("\n%u passed, %u warnings, %u failed\n", d.counts[CHECK_PASS], d.counts[CHECK_WARN],
                       d.counts[CHECK_FAIL]);

        r = d.counts[CHECK_FAIL] > 0 ? 1 : 0;
        json_object_put(d.checks);
        config_done(&d.config);
        free(d.cgroup_root);
        free(d.socket_path);
        return r;
}
