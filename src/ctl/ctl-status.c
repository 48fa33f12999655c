/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The read-only verbs: status, restarts, facts. */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "basic/json-util.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "ctl/ctl.h"

int verb_status(Ctl *c, int argc, char *argv[]) {
        static const char *const headers[] = { "PROJECT", "STATE", "GEN", "SCOPE", "RSS/LIMIT", "SWAP",
                                               "HIGH/MAX/OOM", "PSI10", "RESTARTS" };
        static const bool right[] = { false, false, true, false, true, true, true, true, true };
        _cleanup_(manager_info_done) ManagerInfo m = {};
        ProjectInfo *projects = NULL;
        char **objects = NULL;
        size_t n = 0;
        int r;

        assert(c);

        r = get_manager(c, &m);
        if (r < 0)
                return r;
        r = list_project_objects(c, &objects);
        if (r < 0)
                return r;
        projects = new0(ProjectInfo, (size_t) r);
        if (!projects) {
                strv_free(objects);
                return -ENOMEM;
        }
        for (char **o = objects; *o; o++) {
                r = get_project(c, *o, &projects[n]);
                if (r < 0)
                        goto finish;
                n++;
        }

        if (c->json) {
                json_object *j = map_to_json(manager_map, &m), *a = json_object_new_array();

                for (size_t i = 0; a && i < n; i++)
                        if (json_append(a, project_to_json(&projects[i])) < 0)
                                a = (json_object_put(a), NULL);
                if (j && json_add(j, "projects", a) < 0)
                        j = (json_object_put(j), NULL);
                else if (!j)
                        json_object_put(a);
                r = print_json(j); /* NULL: says out of memory */
                goto finish;
        }

        printf("%s●%s lean-hostd %s (%s bus)\n", ctl_on(c, ANSI_GREEN), ctl_off(c), strna(m.version), ctl_bus_name(c));
        printf("     Workers: %" PRIu32 " of %" PRIu64 " active, enforcement %s, sandbox %s\n", m.workers_active,
               m.max_workers, strna(m.enforcement), strna(m.sandbox));
        printf("       Tiers: import switch %s, post-job %s, hard %s (sampled every %" PRIu64 "ms)\n",
               FORMAT_KIB(m.import_switch_kib), FORMAT_KIB(m.post_job_kib), FORMAT_KIB(m.hard_kill_kib),
               m.sample_millis);
        printf("    Restarts: %" PRIu64, m.restarts_total);
        print_by_cause_inline(&m.restarts_by_cause);
        printf("\n\n");

        {
                Table t = { .n_columns = ELEMENTSOF(headers), .headers = headers, .right = right };

                for (size_t i = 0; i < n; i++) {
                        const ProjectInfo *p = &projects[i];
                        char gen[32], mem[64], restarts[32], ev[64], swap[16], psi[16];

                        snprintf(gen, sizeof gen, "%" PRIu64, p->worker_generation);
                        snprintf(mem, sizeof mem, "%s/%s", FORMAT_KIB(p->rss_kib), FORMAT_KIB(p->memory_max_kib));
                        snprintf(restarts, sizeof restarts, "%" PRIu64, p->restarts_total);
                        format_kernel_facts(p, ev, swap, psi);
                        r = table_add_row(&t,
                                          p->root, NULL,
                                          p->state, state_color(p->state),
                                          gen, NULL,
                                          isempty(p->scope_unit) ? "-" : p->scope_unit, NULL,
                                          mem, NULL,
                                          swap, NULL,
                                          ev, p->events_oom_kill > 0 ? ANSI_YELLOW : NULL,
                                          psi, NULL,
                                          restarts, p->restarts_in_window > 0 ? ANSI_YELLOW : NULL);
                        if (r < 0)
                                break;
                }
                if (r >= 0 && n > 0) {
                        table_print(c, &t);
                        printf("\n");
                }
                table_done(&t);
                if (r < 0)
                        goto finish;
        }
        printf("%zu project%s listed.\n", n, n == 1 ? "" : "s");
        r = 0;

finish:
        for (size_t i = 0; i < n; i++)
                project_info_done(&projects[i]);
        free(projects);
        strv_free(objects);
        return r;
}


int verb_restarts(Ctl *c, int argc, char *argv[]) {
        _cleanup_(manager_info_done) ManagerInfo m = {};
        _cleanup_(project_info_done) ProjectInfo p = {};
        int r;

        assert(c);
        assert(argv);

        if (argc < 2) {
                r = get_manager(c, &m);
                if (r < 0)
                        return r;
                if (c->json) {
                        json_object *j = json_object_new_object();

                        if (j && (json_add(j, "restarts_total", json_object_new_uint64(m.restarts_total)) < 0 ||
                                  json_add(j, "restarts_by_cause", by_cause_to_json(&m.restarts_by_cause)) < 0))
                                j = (json_object_put(j), NULL);
                        return print_json(j);
                }
                if (m.restarts_by_cause.n > 0) {
                        print_by_cause_table(c, &m.restarts_by_cause);
                        printf("\n");
                }
                printf("%" PRIu64 " restart%s over all projects.\n", m.restarts_total, m.restarts_total == 1 ? "" : "s");
                return 0;
        }

        r = get_project_by_argument(c, argv[1], &p);
        if (r < 0)
                return r;
        if (c->json) {
                json_object *j = json_object_new_object();

                if (j && (json_add(j, "root", json_object_new_string(strempty(p.root))) < 0 ||
                          json_add(j, "id", json_object_new_string(strempty(p.id))) < 0 ||
                          json_add(j, "restarts_total", json_object_new_uint64(p.restarts_total)) < 0 ||
                          json_add(j, "restarts_by_cause", by_cause_to_json(&p.restarts_by_cause)) < 0 ||
                          json_add(j, "restarts_in_window", json_object_new_uint64(p.restarts_in_window)) < 0 ||
                          json_add_restart(j, "last_restart", &p.last_restart) < 0))
                        j = (json_object_put(j), NULL);
                return print_json(j);
        }
        printf("%s%s%s\n", ctl_on(c, ANSI_BOLD), strna(p.root), ctl_off(c));
        if (p.restarts_by_cause.n > 0)
                print_by_cause_table(c, &p.restarts_by_cause);
        printf("\n%" PRIu64 " restart%s, %" PRIu32 " abnormal in the current window.\n", p.restarts_total,
               p.restarts_total == 1 ? "" : "s", p.restarts_in_window);
        if (!isempty(p.last_restart.cause)) {
                printf("Last: ");
                print_restart_line(c, &p.last_restart);
                printf("\n      %s\n", strempty(p.last_restart.reason));
        }
        return 0;
}

int verb_facts(Ctl *c, int argc, char *argv[]) {
        _cleanup_(project_info_done) ProjectInfo p = {};
        int r;

        assert(c);
        assert(argv);

        r = get_project_by_argument(c, argv[1], &p);
        if (r < 0)
                return r;
        if (c->json)
                return print_json(project_to_json(&p));

        /* systemctl status style: right-aligned labels */
        printf("%s%s%s (id %s)\n", ctl_on(c, ANSI_BOLD), strna(p.root), ctl_off(c), strna(p.id));
        printf("          State: %s%s%s\n", ctl_on(c, state_color(p.state) ?: ""), strna(p.state), ctl_off(c));
        if (p.workers.n > 1)
                printf("         Worker: %zu in the pool (below), %" PRIu64 " request%s served\n", p.workers.n,
                       p.requests_served, p.requests_served == 1 ? "" : "s");
        else if (p.worker_pid > 0)
                printf("         Worker: PID %" PRIu32 ", generation %" PRIu64 ", %" PRIu64 " request%s served\n",
                       p.worker_pid, p.worker_generation, p.requests_served, p.requests_served == 1 ? "" : "s");
        else
                printf("         Worker: none (last generation %" PRIu64 ")\n", p.worker_generation);
        /* a pool: one line per worker (the project's memory below is their sum) */
        for (size_t i = 0; p.workers.n > 1 && i < p.workers.n; i++) {
                const WorkerInfo *w = p.workers.items + i;

                printf("%s PID %" PRIu32 ", generation %" PRIu64 ", %s, %s, %" PRIu64 " served%s%s\n",
                       i == 0 ? "           Pool:" : "                ", w->pid, w->generation, strna(w->state),
                       isempty(w->import_profile) ? "-" : w->import_profile, w->requests_served,
                       isempty(w->scope_unit) ? "" : ", ", strempty(w->scope_unit));
        }
        printf("    Pool budget: up to %" PRIu32 " worker%s, %s (%s)\n", p.pool_max_workers,
               p.pool_max_workers == 1 ? "" : "s", FORMAT_KIB(p.pool_memory_kib), strna(p.pool_memory_source));
        printf("    Enforcement: %s%s%s\n", strna(p.enforcement), isempty(p.scope_unit) ? "" : ", ",
               strempty(p.scope_unit));
        printf("         Memory: %s (anon %s), high %s, max %s\n", FORMAT_KIB(p.rss_kib), FORMAT_KIB(p.anon_kib),
               FORMAT_KIB(p.memory_high_kib), FORMAT_KIB(p.memory_max_kib));
        if (p.events_high >= 0 || p.swap_kib >= 0 || p.psi_some_avg10 >= 0) {
                char ev[64], swap[16], psi[16];

                format_kernel_facts(&p, ev, swap, psi);
                printf("         Kernel: memory.events high/max/oom_kill %s, swap %s, memory pressure %s "
                       "(some avg10)\n", ev, swap, psi);
        } else
                printf("         Kernel: - (only with a scope on cgroup v2)\n");
        printf("        Imports: %s (%" PRIu64 " profile switch%s)\n", isempty(p.import_profile) ? "-" : p.import_profile,
               p.profile_switch_count, p.profile_switch_count == 1 ? "" : "es");
        printf("          Queue: %" PRIu32 "\n", p.queue_depth);
        printf("       Restarts: %" PRIu64 ", %" PRIu32 " abnormal in the current window", p.restarts_total,
               p.restarts_in_window);
        print_by_cause_inline(&p.restarts_by_cause);
        printf("\n");
        if (!isempty(p.last_restart.cause)) {
                printf("   Last restart: ");
                print_restart_line(c, &p.last_restart);
                printf("\n                 %s\n", strempty(p.last_restart.reason));
        }
        printf("      Toolchain: %s\n", isempty(p.toolchain) ? "-" : p.toolchain);
        printf("      Readiness: %s\n", strna(p.readiness));
        printf("         Object: %s\n", p.object);
        return 0;
}

