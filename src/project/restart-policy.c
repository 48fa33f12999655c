/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The restart policy of a project, shared by every client of it:
 *
 * - Abnormal worker ends (timeout, child_exit, child_abort, session_missing,
 *   rss_hard_limit_exceeded) count toward the window: at most restart_limit
 *   of them per restart_window_secs. Past that the project cools down and
 *   calls fail fast with worker_unavailable and retry_after_ms, until the
 *   oldest end leaves the window. This stops real crash loops.
 * - Planned recycles never count. A worker killed because a client cancelled
 *   its running call or disconnected is `cancelled`: reported like any end,
 *   but planned — one client's cancellations must not deny the project to
 *   the others.
 * - A read-only job whose worker crashed is retried once on a fresh worker.
 *   A crash on that retry is not charged again: the job fails with
 *   poison_input (not retryable) and its command is remembered, so the same
 *   input is never sent again. One client's poison input costs the window
 *   one event, not two per call.
 * - A hard-tier kill (rss_hard_limit_exceeded, kernel OOM or the sampler)
 *   is never retried: the same input would only be killed again.
 * - An operator's restart or stop (D-Bus, lean-hostctl) empties the window,
 *   ends cooling down and forgets the poison inputs. */

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "project/restart-policy.h"

#define CONFIG(p) ((p)->registry->config)

static uint64_t usec_to_millis_up(usec_t u) {
        return (u + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
}

bool restart_policy_may_retry(JobFlags flags, unsigned retry_count, RestartCause cause) {
        return (flags & JOB_READ_ONLY) && retry_count == 0 && restart_cause_counts_toward_limit(cause) &&
                cause != RESTART_CAUSE_RSS_HARD_LIMIT;
}

bool restart_policy_input_error(const LhProject *p, RestartCause cause, const char *reason, LhError *e) {
        if (cause != RESTART_CAUSE_REPLY_TOO_LARGE)
                return false;
        lh_error_set(e, "reply_too_large", false,
                     "Lean's reply to this call is too large (%s); the worker of %s was recycled. Ask for less "
                     "output, or raise worker.max_reply_bytes (LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES, now %" PRIu64
                     " bytes).", strna(reason), p->root, CONFIG(p)->worker_max_reply_bytes);
        e->restart_cause = cause;
        return true;
}

uint64_t restart_policy_command_hash(const char *fingerprint, json_object *command) {
        uint64_t h = hash_fnv1a64_update(HASH_FNV1A64_INIT, strempty(fingerprint), strlen(strempty(fingerprint)) + 1);

        if (!json_object_is_type(command, json_type_object)) {
                const char *s = json_object_to_json_string_ext(command, JSON_C_TO_STRING_PLAIN);

                return hash_fnv1a64_update(h, strempty(s), strlen(strempty(s)));
        }
        json_object_object_foreach(command, key, value) {
                const char *s;

                if (streq(key, "env") || streq(key, "proofState"))
                        continue;
                s = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
                h = hash_fnv1a64_update(h, key, strlen(key) + 1);
                h = hash_fnv1a64_update(h, strempty(s), strlen(strempty(s)) + 1);
        }
        return h;
}

static int restart_cause_log_level(RestartCause c) {
        if (restart_cause_counts_toward_limit(c) || c == RESTART_CAUSE_WORKER_INTERNAL)
                return LOG_WARNING; /* abnormal */
        if (c == RESTART_CAUSE_RSS_POST_JOB || c == RESTART_CAUSE_RSS_IMPORT_SWITCH || c == RESTART_CAUSE_CANCELLED ||
            c == RESTART_CAUSE_REPLY_TOO_LARGE)
                return LOG_INFO;    /* memory pressure, a client's cancel: what an operator watches */
        return LOG_DEBUG;           /* hygiene */
}

static void project_log_worker_end(LhProject *p, const RestartEvent *ev) {
        char msg[512], f_project[PATH_MAX + 32], f_id[64], f_cause[64], f_gen[64], f_planned[32],
                f_rss[64], f_limit[64], f_scope[192], f_reason[300];

        snprintf(msg, sizeof msg, "Worker %" PRIu64 " of %s ended (%s%s): %s", ev->worker_generation, p->root,
                 strna(restart_cause_to_string(ev->cause)), ev->planned ? ", planned" : "", ev->reason);
        snprintf(f_project, sizeof f_project, "LEAN_HOST_PROJECT=%s", p->root);
        snprintf(f_id, sizeof f_id, "LEAN_HOST_PROJECT_ID=%s", p->id);
        snprintf(f_cause, sizeof f_cause, "LEAN_HOST_CAUSE=%s", strna(restart_cause_to_string(ev->cause)));
        snprintf(f_gen, sizeof f_gen, "LEAN_HOST_GENERATION=%" PRIu64, ev->worker_generation);
        snprintf(f_planned, sizeof f_planned, "LEAN_HOST_PLANNED=%s", ev->planned ? "1" : "0");
        snprintf(f_rss, sizeof f_rss, "LEAN_HOST_RSS_KIB=%" PRIu64, ev->rss_kib);
        snprintf(f_limit, sizeof f_limit, "LEAN_HOST_LIMIT_KIB=%" PRIu64, ev->limit_kib);
        snprintf(f_scope, sizeof f_scope, "LEAN_HOST_SCOPE=%s", p->scope_unit);
        snprintf(f_reason, sizeof f_reason, "LEAN_HOST_REASON=%s", ev->reason);

        (void) log_struct_internal(restart_cause_log_level(ev->cause), 0, msg,
                                   f_project, f_id, f_cause, f_gen, f_planned, f_rss, f_limit, f_scope,
                                   f_reason, NULL);
}

/* The one place a worker end becomes observable: stats, last event, log,
 * observers. SHUTDOWN is logged but is not a restart. */
void project_record_event(LhProject *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                                 uint64_t limit_kib, RestartEvent *ret) {
        LhRegistry *r = p->registry;
        RestartEvent ev = {
                .valid = true,
                .cause = cause,
                .worker_generation = p->generation,
                .planned = restart_cause_is_planned(cause),
                .rss_kib = rss_kib,
                .limit_kib = limit_kib,
                .realtime_usec = now_usec(CLOCK_REALTIME),
        };

        snprintf(ev.reason, sizeof ev.reason, "%s", strempty(reason));
        project_log_worker_end(p, &ev);
        if (ret)
                *ret = ev;
        if (cause == RESTART_CAUSE_SHUTDOWN || cause < 0 || cause >= _RESTART_CAUSE_MAX)
                return;

        p->restarts_total++;
        p->restarts_by_cause[cause]++;
        p->last_restart = ev;
        if (r->observer && r->observer->worker_restarted)
                r->observer->worker_restarted(p, &ev, r->observer_userdata);
        project_notify(p, PROJECT_CHANGE_RESTARTS);
}

static int on_cooldown_end(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC), left;

        if (!p->cooling_down)
                return 0;
        left = restart_window_retry_after(&p->window, now);
        if (left > 0)
                return project_timer_arm(p, &p->cooldown_source, left, on_cooldown_end), 0;

        log_info("Project %s: the restart window allows workers again.", p->root);
        p->cooling_down = false;
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
        return 0;
}

static void project_enter_cooling(LhProject *p, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t left = restart_window_retry_after(&p->window, now);

        p->cooling_cause = cause;
        p->cooling_rss_kib = rss_kib;
        p->cooling_limit_kib = limit_kib;
        if (!p->cooling_down)
                log_warning("Project %s: %u abnormal worker restarts within %" PRIu64 " s (last: %s); "
                            "calls fail fast for %" PRIu64 " ms.",
                            p->root, restart_window_count(&p->window, now), CONFIG(p)->restart_window_secs,
                            strna(restart_cause_to_string(cause)), usec_to_millis_up(left));
        p->cooling_down = true;
        (void) project_timer_arm(p, &p->cooldown_source, MAX(left, (usec_t) 1), on_cooldown_end);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

bool project_count_abnormal(LhProject *p, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        if (!restart_cause_counts_toward_limit(cause))
                return true;
        if (restart_window_record(&p->window, now_usec(CLOCK_MONOTONIC)) >= 0)
                return true;
        project_enter_cooling(p, cause, rss_kib, limit_kib);
        return false;
}

void project_unavailable_error(LhProject *p, LhError *e) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t left = restart_window_retry_after(&p->window, now);
        unsigned n = restart_window_count(&p->window, now);

        lh_error_set(e, "worker_unavailable", true,
                     "The worker of %s ended abnormally %u times within %" PRIu64 " s (last cause: %s); "
                     "calls fail fast, retry in %" PRIu64 " ms.",
                     p->root, n, CONFIG(p)->restart_window_secs, strna(restart_cause_to_string(p->cooling_cause)),
                     MAX(usec_to_millis_up(left), (uint64_t) 1));
        e->restart_cause = p->cooling_cause;
        e->rss_kib = p->cooling_rss_kib;
        e->limit_kib = p->cooling_limit_kib;
        e->retry_after_ms = MAX(usec_to_millis_up(left), (uint64_t) 1);
        e->restarts_in_window = n;
}

bool project_check_cooling(LhProject *p) {
        if (!p->cooling_down)
                return false;
        if (restart_window_is_full(&p->window, now_usec(CLOCK_MONOTONIC)))
                return true;
        p->cooling_down = false;
        project_timer_disarm(p->cooldown_source);
        project_notify(p, PROJECT_CHANGE_STATE);
        return false;
}

void project_reset_restart_policy(LhProject *p) {
        bool was_cooling = p->cooling_down;

        restart_window_reset(&p->window);
        p->cooling_down = false;
        p->cooling_cause = _RESTART_CAUSE_INVALID;
        p->cooling_rss_kib = p->cooling_limit_kib = 0;
        project_timer_disarm(p->cooldown_source);
        p->n_poison = p->poison_next = 0;
        if (was_cooling)
                log_info("Project %s: the operator cleared the restart window.", p->root);
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_RESTARTS);
}

void project_poison_add(LhProject *p, uint64_t command_hash) {
        if (project_poison_contains(p, command_hash))
                return;
        /* a small ring: the oldest is forgotten first */
        p->poison[p->poison_next] = command_hash;
        p->poison_next = (p->poison_next + 1) % ELEMENTSOF(p->poison);
        if (p->n_poison < ELEMENTSOF(p->poison))
                p->n_poison++;
}

bool project_poison_contains(const LhProject *p, uint64_t command_hash) {
        for (unsigned i = 0; i < p->n_poison; i++)
                if (p->poison[i] == command_hash)
                        return true;
        return false;
}
