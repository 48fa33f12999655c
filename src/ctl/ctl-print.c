/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Colours, units, tables and JSON for lean-hostctl's output. */

#include <assert.h>
#include <stdarg.h>
#include <unistd.h>

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "ctl/ctl.h"

bool ctl_color_wanted(void) {
        const char *term = getenv("TERM");

        if (getenv("NO_COLOR"))
                return false;
        if (term && streq(term, "dumb"))
                return false;
        return isatty(STDOUT_FILENO) > 0;
}

const char *ctl_on(const Ctl *c, const char *code) {
        assert(c);

        return c->color ? code : "";
}

const char *ctl_off(const Ctl *c) {
        assert(c);

        return c->color ? ANSI_NORMAL : "";
}

const char *state_color(const char *state) {
        if (!state)
                return NULL;
        if (streq(state, "busy") || streq(state, "starting"))
                return ANSI_GREEN;
        if (streq(state, "cooling_down"))
                return ANSI_RED;
        if (streq(state, "stopped"))
                return ANSI_GREY;
        return NULL;
}

/* ------------------------------------------------------------------------
 * formatting */

/* KiB → "180.0M" (1024-based, like systemd's format_bytes); 0 → "-". */
const char *format_kib(char *buf, size_t size, uint64_t kib) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) kib;
        size_t i = 0;

        assert(buf);

        if (kib == 0)
                return "-";
        while (v >= 1024.0 && i + 1 < sizeof(suffixes) - 1) {
                v /= 1024.0;
                i++;
        }
        snprintf(buf, size, "%.1f%c", v, suffixes[i]);
        return buf;
}


/* The kernel facts of a worker's scope as table cells: memory.events
 * high/max/oom_kill, swap in use, PSI some avg10; "-" when not available
 * (cgroup v1, process mode, no worker). */
void format_kernel_facts(const ProjectInfo *p, char ev[static 64], char swap[static 16], char psi[static 16]) {
        if (p->events_high >= 0)
                snprintf(ev, 64, "%" PRIi64 "/%" PRIi64 "/%" PRIi64, p->events_high, p->events_max, p->events_oom_kill);
        else
                snprintf(ev, 64, "-");
        if (p->swap_kib > 0)
                format_kib(swap, 16, (uint64_t) p->swap_kib);
        else
                snprintf(swap, 16, "%s", p->swap_kib == 0 ? "0" : "-");
        if (p->psi_some_avg10 >= 0)
                snprintf(psi, 16, "%.2f%%", p->psi_some_avg10);
        else
                snprintf(psi, 16, "-");
}

/* The adders return -ENOMEM on a failed allocation; a null they add is a
 * value that is not there (0 or "" where the field is nullable). */
static int json_add_uint_or_null(json_object *o, const char *key, uint64_t v, bool nullable) {
        return nullable && v == 0 ? json_add_nullable(o, key, NULL) : json_add(o, key, json_object_new_uint64(v));
}

static int json_add_string_nullable(json_object *o, const char *key, const char *s, bool nullable) {
        return json_add_string_or_null(o, key, nullable && isempty(s) ? NULL : strempty(s));
}

json_object *by_cause_to_json(const ByCause *b) {
        json_object *o = json_object_new_object();

        assert(b);

        for (size_t i = 0; o && i < b->n; i++)
                if (json_add(o, b->items[i].cause, json_object_new_uint64(b->items[i].count)) < 0)
                        o = (json_object_put(o), NULL);
        return o;
}

/* As the MCP facts' restart events: null when none, rss/limit null when 0. */
json_object *restart_to_json(const RestartInfo *r) {
        json_object *o;

        assert(r);

        if (isempty(r->cause))
                return NULL;
        o = json_object_new_object();
        if (!o ||
            json_add(o, "cause", json_object_new_string(r->cause)) < 0 ||
            json_add(o, "reason", json_object_new_string(strempty(r->reason))) < 0 ||
            json_add(o, "worker_generation", json_object_new_uint64(r->generation)) < 0 ||
            json_add(o, "planned", json_object_new_boolean(r->planned)) < 0 ||
            json_add_uint_or_null(o, "rss_kib", r->rss_kib, true) < 0 ||
            json_add_uint_or_null(o, "limit_kib", r->limit_kib, true) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* restart_to_json() under key: null when there was none. */
int json_add_restart(json_object *o, const char *key, const RestartInfo *r) {
        assert(r);

        return isempty(r->cause) ? json_add_nullable(o, key, NULL) : json_add(o, key, restart_to_json(r));
}

static json_object *workers_to_json(const WorkerList *w) {
        json_object *a = json_object_new_array();

        for (size_t i = 0; a && i < w->n; i++) {
                json_object *o = json_object_new_object();

                if (!o ||
                    json_add(o, "worker_generation", json_object_new_uint64(w->items[i].generation)) < 0 ||
                    json_add_uint_or_null(o, "worker_pid", w->items[i].pid, true) < 0 ||
                    json_add(o, "state", json_object_new_string(strempty(w->items[i].state))) < 0 ||
                    json_add_string_nullable(o, "scope_unit", w->items[i].scope_unit, true) < 0 ||
                    json_add_string_nullable(o, "import_profile", w->items[i].import_profile, true) < 0 ||
                    json_add_uint_or_null(o, "rss_kib", w->items[i].rss_kib, true) < 0 ||
                    json_add(o, "requests_served", json_object_new_uint64(w->items[i].requests_served)) < 0 ||
                    json_append(a, TAKE_PTR(o)) < 0) {
                        json_object_put(o);
                        a = (json_object_put(a), NULL);
                }
        }
        return a;
}

json_object *map_to_json(const PropMap *map, const void *base) {
        json_object *o = json_object_new_object();

        assert(map);
        assert(base);

        for (const PropMap *p = map; o && p->name; p++) {
                const void *field = (const uint8_t *) base + p->offset;
                int r = 0;

                switch (p->type) {
                case PROP_STRING:
                        r = json_add_string_nullable(o, p->json, *(char *const *) field, p->nullable);
                        break;
                case PROP_U32:
                        r = json_add_uint_or_null(o, p->json, *(const uint32_t *) field, p->nullable);
                        break;
                case PROP_U64:
                        r = json_add_uint_or_null(o, p->json, *(const uint64_t *) field, p->nullable);
                        break;
                case PROP_BY_CAUSE:
                        r = json_add(o, p->json, by_cause_to_json(field));
                        break;
                case PROP_RESTART:
                        r = json_add_restart(o, p->json, field);
                        break;
                case PROP_I64:
                        r = *(const int64_t *) field >= 0 ? json_add(o, p->json, json_object_new_int64(*(const int64_t *) field))
                                                          : json_add_nullable(o, p->json, NULL);
                        break;
                case PROP_DOUBLE:
                        r = *(const double *) field >= 0 ? json_add(o, p->json, json_object_new_double(*(const double *) field))
                                                         : json_add_nullable(o, p->json, NULL);
                        break;
                case PROP_WORKERS:
                        r = json_add(o, p->json, workers_to_json(field));
                        break;
                }
                if (r < 0)
                        o = (json_object_put(o), NULL);
        }
        return o;
}

json_object *project_to_json(const ProjectInfo *p) {
        json_object *o = map_to_json(project_map, p);

        assert(p);

        if (o && json_add(o, "object", json_object_new_string(p->object)) < 0)
                o = (json_object_put(o), NULL);
        return o;
}

int print_json(json_object *o) {
        if (!o) {
                fprintf(stderr, "Out of memory.\n");
                return -ENOMEM;
        }
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return fflush(stdout) == 0 ? 0 : -EIO;
}


void table_done(Table *t) {
        assert(t);

        for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t->colors);
}

int table_add_row(Table *t, ...) {
        size_t base = t->n_rows * t->n_columns;
        char **cells;
        const char **colors;
        va_list ap;

        assert(t);

        cells = reallocarray(t->cells, base + t->n_columns, sizeof(char *));
        if (!cells)
                return -ENOMEM;
        t->cells = cells;
        colors = reallocarray(t->colors, base + t->n_columns, sizeof(char *));
        if (!colors)
                return -ENOMEM;
        t->colors = colors;
        /* varargs: (text, color) pairs */
        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns; i++) {
                const char *s = va_arg(ap, const char *);
                t->cells[base + i] = strdup(strempty(s));
                t->colors[base + i] = va_arg(ap, const char *);
        }
        va_end(ap);
        t->n_rows++;
        for (size_t i = 0; i < t->n_columns; i++)
                if (!t->cells[base + i])
                        return -ENOMEM;
        return 0;
}

void table_print(const Ctl *c, const Table *t) {
        size_t width[16] = {};

        assert(c);
        assert(t);

        for (size_t j = 0; j < t->n_columns && j < ELEMENTSOF(width); j++) {
                width[j] = strlen(t->headers[j]);
                for (size_t i = 0; i < t->n_rows; i++)
                        width[j] = MAX(width[j], strlen(t->cells[i * t->n_columns + j]));
        }

        for (size_t j = 0; j < t->n_columns; j++) {
                bool last = j + 1 == t->n_columns;
                int pad = (int) (width[j] - strlen(t->headers[j]));

                if (t->right[j])
                        printf("%*s", pad, "");
                printf("%s%s%s", ctl_on(c, ANSI_BOLD), t->headers[j], ctl_off(c));
                if (!t->right[j] && !last)
                        printf("%*s", pad, "");
                fputs(last ? "\n" : " ", stdout);
        }
        for (size_t i = 0; i < t->n_rows; i++)
                for (size_t j = 0; j < t->n_columns; j++) {
                        const char *s = t->cells[i * t->n_columns + j], *color = t->colors[i * t->n_columns + j];
                        bool last = j + 1 == t->n_columns;
                        int pad = (int) (width[j] - strlen(s));

                        if (t->right[j])
                                printf("%*s", pad, "");
                        fputs(color ? ctl_on(c, color) : "", stdout);
                        fputs(s, stdout);
                        fputs(color ? ctl_off(c) : "", stdout);
                        if (!t->right[j] && !last)
                                printf("%*s", pad, "");
                        fputs(last ? "\n" : " ", stdout);
                }
}

const char *ctl_bus_name(const Ctl *c) {
        assert(c);

        return c->system ? "system" : "user";
}

void print_by_cause_inline(const ByCause *b) {
        assert(b);

        for (size_t i = 0; i < b->n; i++)
                printf("%s%s %" PRIu64, i == 0 ? " (" : ", ", b->items[i].cause, b->items[i].count);
        if (b->n > 0)
                fputs(")", stdout);
}

void print_by_cause_table(const Ctl *c, const ByCause *b) {
        static const char *const headers[] = { "CAUSE", "COUNT" };
        static const bool right[] = { false, true };
        Table t = { .n_columns = 2, .headers = headers, .right = right };

        assert(c);
        assert(b);

        for (size_t i = 0; i < b->n; i++) {
                char count[32];

                snprintf(count, sizeof count, "%" PRIu64, b->items[i].count);
                if (table_add_row(&t, b->items[i].cause, NULL, count, NULL) < 0)
                        break;
        }
        table_print(c, &t);
        table_done(&t);
}

void print_restart_line(const Ctl *c, const RestartInfo *r) {
        assert(c);
        assert(r);

        printf("%s%s%s (%s), generation %" PRIu64, ctl_on(c, r->planned ? "" : ANSI_RED), r->cause, ctl_off(c),
               r->planned ? "planned" : "abnormal", r->generation);
        if (r->rss_kib > 0)
                printf(", rss %s", FORMAT_KIB(r->rss_kib));
        if (r->limit_kib > 0)
                printf(", limit %s", FORMAT_KIB(r->limit_kib));
}

