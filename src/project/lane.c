/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A lane of a project's pool: its life and its warm-successor wish (the
 * imports its next worker loads before any call asks). The actor (actor.c)
 * drives the lane's job and worker; pool.c creates lanes and routes jobs.
 *
 * Owns: LhLane's life and its `warm_imports`, `warm_fingerprint` and
 * `warming` (actor.c sets `warming` only through lane_set_warming()), and
 * LhProject's `service_usec`. Must
 * not know: the worker protocol, jobs beyond their imports, the registry. */

#include <assert.h>

#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "project/project-internal.h"

#define LCONFIG(l) ((l)->project->registry->config)

/* Forget the warm-up wish (the successor is wanted only once). */
void lane_clear_warm(LhLane *l) {
        l->warm_imports = strv_free(l->warm_imports);
        l->warm_fingerprint = mfree(l->warm_fingerprint);
        l->warming = false;
}

/* A planned or asked-for end whose successor should be warm: the same
 * imports, loaded before the next call. Not after crashes (a crash loop
 * must not feed itself) nor idle/operator stops (nobody is waiting). */
void lane_want_successor(LhLane *l, RestartCause cause) {
        const char *fp = l->active_profile;
        LhJob *j = l->current;

        if (!LCONFIG(l)->project_warm_successor || l->project->stopped)
                return;
        if (!(cause == RESTART_CAUSE_TIMEOUT || cause == RESTART_CAUSE_RSS_POST_JOB || cause == RESTART_CAUSE_EXPLICIT ||
              cause == RESTART_CAUSE_RSS_IMPORT_SWITCH || cause == RESTART_CAUSE_MAX_REQUESTS ||
              cause == RESTART_CAUSE_MAX_IMPORTS || cause == RESTART_CAUSE_CANCELLED))
                return;
        lane_clear_warm(l);
        if (j && (cause == RESTART_CAUSE_RSS_IMPORT_SWITCH || cause == RESTART_CAUSE_MAX_IMPORTS)) {
                /* the job waiting for the switch says what the successor needs */
                l->warm_imports = strv_copy(j->imports);
                l->warm_fingerprint = strdup(j->fingerprint);
        } else if (fp) {
                _cleanup_free_ char *words = strdup(fp);

                /* the fingerprint is the imports joined by "," (job.c) */
                for (char *c = words; c && *c; c++)
                        if (*c == ',')
                                *c = ' ';
                l->warm_fingerprint = strdup(fp);
                if (words && strv_split_words(words, &l->warm_imports) < 0)
                        l->warm_imports = NULL;
        }
        if (!l->warm_imports || !l->warm_fingerprint)
                lane_clear_warm(l); /* out of memory: a cold start then */
}

void lane_note_service_time(LhLane *l) {
        LhProject *p = l->project;
        usec_t d;

        if (l->busy_since == 0)
                return;
        d = now_usec(CLOCK_MONOTONIC) - l->busy_since;
        p->service_usec = p->service_usec > 0 ? (3 * p->service_usec + d) / 4 : d;
}

int lane_want_imports(LhLane *l, char **imports) {
        lane_clear_warm(l);
        l->warm_imports = strv_copy(imports);
        l->warm_fingerprint = strv_join(imports, ",");
        if (!l->warm_imports || !l->warm_fingerprint) {
                lane_clear_warm(l);
                return -ENOMEM;
        }
        return 0;
}

void lane_set_warming(LhLane *l, bool warming) {
        l->warming = warming;
}

int lane_new(LhLane **ret, LhProject *p, unsigned index) {
        LhRegistry *r = p->registry;
        LhLane *l;
        int k;

        l = new0(LhLane, 1);
        if (!l)
                return -ENOMEM;
        l->project = p;
        l->index = index;
        worker_slot_init(&l->slot, project_enforcement_for(r->config, r->placer));
        k = admission_ticket_add(&r->admission, &l->ticket, l);
        if (k < 0)
                return free(l), k;
        *ret = l;
        return 0;
}

LhLane *lane_free(LhLane *l) {
        if (!l)
                return NULL;
        assert(!l->current);
        worker_slot_done(&l->slot);
        sd_event_source_disable_unref(l->timeout_source);
        sd_event_source_disable_unref(l->idle_source);
        admission_ticket_remove(&l->project->registry->admission, &l->ticket);
        lane_clear_warm(l);
        free(l->active_profile);
        return mfree(l);
}
