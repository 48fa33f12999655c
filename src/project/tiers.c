/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tier verdicts and timers. Owns nothing; must not know the actor. */

#include <stdio.h>

#include "basic/log.h"
#include "basic/time-util.h"
#include "project/tiers.h"

/* A memory tier crossed: cause, its name, the worker's memory and the limit. */
static bool tier_rss_verdict(TierVerdict *ret, RestartCause cause, const char *name, uint64_t kib,
                             uint64_t limit_kib) {
        *ret = (TierVerdict) { .cause = cause, .rss_kib = kib, .limit_kib = limit_kib };
        snprintf(ret->reason, sizeof ret->reason, "%s current_kib=%" PRIu64 " limit_kib=%" PRIu64, name, kib,
                 limit_kib);
        return true;
}

bool tier_after_job(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret) {
        if (c->worker_rss_post_job_restart_kib > 0 && s->tier_kib >= c->worker_rss_post_job_restart_kib)
                return tier_rss_verdict(ret, RESTART_CAUSE_RSS_POST_JOB, "rss_post_job", s->tier_kib,
                                        c->worker_rss_post_job_restart_kib);
        if (c->worker_max_requests > 0 && s->requests_served >= c->worker_max_requests) {
                *ret = (TierVerdict) { .cause = RESTART_CAUSE_MAX_REQUESTS, .rss_kib = s->anon_kib };
                snprintf(ret->reason, sizeof ret->reason, "max_requests served=%" PRIu64 " limit=%" PRIu64,
                         s->requests_served, c->worker_max_requests);
                return true;
        }
        return false;
}

bool tier_import_switch(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret) {
        if (c->import_switch_rss_soft_kib == 0 || s->tier_kib < c->import_switch_rss_soft_kib)
                return false;
        return tier_rss_verdict(ret, RESTART_CAUSE_RSS_IMPORT_SWITCH, "rss_import_switch", s->tier_kib,
                                c->import_switch_rss_soft_kib);
}

bool tier_max_imports(const LhConfig *c, const WorkerSlot *s, TierVerdict *ret) {
        if (c->worker_max_imports == 0 || s->profiles.n < c->worker_max_imports)
                return false;
        *ret = (TierVerdict) { .cause = RESTART_CAUSE_MAX_IMPORTS, .rss_kib = s->anon_kib };
        snprintf(ret->reason, sizeof ret->reason, "max_imports profiles=%zu limit=%" PRIu64, s->profiles.n,
                 c->worker_max_imports);
        return true;
}

int project_timer_arm(sd_event *event, sd_event_source **s, usec_t after, sd_event_time_handler_t handler,
                      void *userdata) {
        usec_t when = now_usec(CLOCK_MONOTONIC) + after;
        int r;

        if (*s) {
                r = sd_event_source_set_time(*s, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(event, s, CLOCK_MONOTONIC, when, USEC_PER_MSEC, handler, userdata);
        if (r < 0)
                log_error_errno(r, "Failed to arm a timer: %m");
        return r;
}

void project_timer_disarm(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}
