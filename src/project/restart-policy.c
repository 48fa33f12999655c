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
 *   ends cooling down and forgets the poison inputs.
 *
 * Owns: RestartPolicy (statistics, window, cooling down, poison inputs, the
 * cool-down timer). Must not know: the actor, jobs, workers, the registry;
 * it answers through return values and the one `cooled` callback. */

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "basic/hash.h"
#include "basic/json-util.h"
#include "basic/log.h"
#include "basic/time-util.h"
#include "project/restart-policy.h"
#include "project/tiers.h"

static uint64_t usec_to_millis_up(usec_t u) {
        return (u + USEC_PER_MSEC - 1) / USEC_PER_MSEC;
}

int restart_policy_init(RestartPolicy *rp, sd_event *event, const char *root, const char *id, uint64_t limit,
                        uint64_t window_secs, uint64_t max_reply_bytes, void (*cooled)(void *userdata),
                        void *userdata) {
        assert(rp);
        assert(event);

        *rp = (RestartPolicy) {
                .event = event,
                .root = root,
                .id = id,
                .window_secs = window_secs,
                .max_reply_bytes = max_reply_bytes,
                .cooled = cooled,
                .userdata = userdata,
                .cooling_cause = _RESTART_CAUSE_INVALID,
        };
        return restart_window_init(&rp->window, (unsigned) MIN(limit, (uint64_t) 1024), window_secs * USEC_PER_SEC);
}

void restart_policy_done(RestartPolicy *rp) {
        rp->cooldown_source = sd_event_source_disable_unref(rp->cooldown_source);
        restart_window_done(&rp->window);
}

bool restart_policy_may_retry(JobFlags flags, unsigned retry_count, RestartCause cause) {
        return (flags & JOB_READ_ONLY) && retry_count == 0 && restart_cause_counts_toward_limit(cause) &&
                cause != RESTART_CAUSE_RSS_HARD_LIMIT;
}

/* A worker ended because of what the call asked for, not by a fault of its
 * own (RESTART_CAUSE_REPLY_TOO_LARGE): sets *e to the call's error, not
 * retryable (the same input gives the same reply), and returns true. Such
 * an end is never retried and never counted. */
static bool restart_policy_input_error(const RestartPolicy *rp, RestartCause cause, const char *reason, LhError *e) {
        if (cause != RESTART_CAUSE_REPLY_TOO_LARGE)
                return false;
        lh_error_set(e, "reply_too_large", false,
                     "Lean's reply to this call is too large (%s); the worker of %s was recycled. Ask for less "
                     "output, or raise worker.max_reply_bytes (LEAN_HOST_MCP_WORKER_MAX_REPLY_BYTES, now %" PRIu64
                     " bytes).", strna(reason), rp->root, rp->max_reply_bytes);
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

static void restart_policy_log_end(const RestartPolicy *rp, const char *scope_unit, const RestartEvent *ev) {
        char msg[512], f_project[PATH_MAX + 32], f_id[64], f_cause[64], f_gen[64], f_planned[32],
                f_rss[64], f_limit[64], f_scope[192], f_reason[300];

        snprintf(msg, sizeof msg, "Worker %" PRIu64 " of %s ended (%s%s): %s", ev->worker_generation, rp->root,
                 strna(restart_cause_to_string(ev->cause)), ev->planned ? ", planned" : "", ev->reason);
        snprintf(f_project, sizeof f_project, "LEAN_HOST_PROJECT=%s", rp->root);
        snprintf(f_id, sizeof f_id, "LEAN_HOST_PROJECT_ID=%s", rp->id);
        snprintf(f_cause, sizeof f_cause, "LEAN_HOST_CAUSE=%s", strna(restart_cause_to_string(ev->cause)));
        snprintf(f_gen, sizeof f_gen, "LEAN_HOST_GENERATION=%" PRIu64, ev->worker_generation);
        snprintf(f_planned, sizeof f_planned, "LEAN_HOST_PLANNED=%s", ev->planned ? "1" : "0");
        snprintf(f_rss, sizeof f_rss, "LEAN_HOST_RSS_KIB=%" PRIu64, ev->rss_kib);
        snprintf(f_limit, sizeof f_limit, "LEAN_HOST_LIMIT_KIB=%" PRIu64, ev->limit_kib);
        snprintf(f_scope, sizeof f_scope, "LEAN_HOST_SCOPE=%s", strempty(scope_unit));
        snprintf(f_reason, sizeof f_reason, "LEAN_HOST_REASON=%s", ev->reason);

        (void) log_struct_internal(restart_cause_log_level(ev->cause), 0, msg,
                                   f_project, f_id, f_cause, f_gen, f_planned, f_rss, f_limit, f_scope,
                                   f_reason, NULL);
}

bool restart_policy_record(RestartPolicy *rp, uint64_t generation, const char *scope_unit, RestartCause cause,
                           const char *reason, uint64_t rss_kib, uint64_t limit_kib, RestartEvent *ret) {
        RestartEvent ev = {
                .valid = true,
                .cause = cause,
                .worker_generation = generation,
                .planned = restart_cause_is_planned(cause),
                .rss_kib = rss_kib,
                .limit_kib = limit_kib,
                .realtime_usec = now_usec(CLOCK_REALTIME),
        };

        snprintf(ev.reason, sizeof ev.reason, "%s", strempty(reason));
        restart_policy_log_end(rp, scope_unit, &ev);
        if (ret)
                *ret = ev;
        if (cause == RESTART_CAUSE_SHUTDOWN || cause < 0 || cause >= _RESTART_CAUSE_MAX)
                return false;

        rp->restarts_total++;
        rp->restarts_by_cause[cause]++;
        rp->last_restart = ev;
        return true;
}

static int restart_policy_arm(RestartPolicy *rp, usec_t after, sd_event_time_handler_t handler) {
        return project_timer_arm(rp->event, &rp->cooldown_source, after, handler, rp);
}

static void restart_policy_disarm(RestartPolicy *rp) {
        project_timer_disarm(rp->cooldown_source);
}

static int on_cooldown_end(sd_event_source *s, uint64_t usec, void *userdata) {
        RestartPolicy *rp = userdata;
        usec_t now = now_usec(CLOCK_MONOTONIC), left;

        if (!rp->cooling_down)
                return 0;
        left = restart_window_retry_after(&rp->window, now);
        if (left > 0)
                return restart_policy_arm(rp, left, on_cooldown_end), 0;

        log_info("Project %s: the restart window allows workers again.", rp->root);
        rp->cooling_down = false;
        if (rp->cooled)
                rp->cooled(rp->userdata);
        return 0;
}

static void restart_policy_enter_cooling(RestartPolicy *rp, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t left = restart_window_retry_after(&rp->window, now);

        rp->cooling_cause = cause;
        rp->cooling_rss_kib = rss_kib;
        rp->cooling_limit_kib = limit_kib;
        if (!rp->cooling_down)
                log_warning("Project %s: %u abnormal worker restarts within %" PRIu64 " s (last: %s); "
                            "calls fail fast for %" PRIu64 " ms.",
                            rp->root, restart_window_count(&rp->window, now), rp->window_secs,
                            strna(restart_cause_to_string(cause)), usec_to_millis_up(left));
        rp->cooling_down = true;
        (void) restart_policy_arm(rp, MAX(left, (usec_t) 1), on_cooldown_end);
}

bool restart_policy_count_abnormal(RestartPolicy *rp, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        if (!restart_cause_counts_toward_limit(cause))
                return true;
        if (restart_window_record(&rp->window, now_usec(CLOCK_MONOTONIC)) >= 0)
                return true;
        restart_policy_enter_cooling(rp, cause, rss_kib, limit_kib);
        return false;
}

void restart_policy_unavailable_error(RestartPolicy *rp, LhError *e) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        usec_t left = restart_window_retry_after(&rp->window, now);
        unsigned n = restart_window_count(&rp->window, now);

        lh_error_set(e, "worker_unavailable", true,
                     "The worker of %s ended abnormally %u times within %" PRIu64 " s (last cause: %s); "
                     "calls fail fast, retry in %" PRIu64 " ms.",
                     rp->root, n, rp->window_secs, strna(restart_cause_to_string(rp->cooling_cause)),
                     MAX(usec_to_millis_up(left), (uint64_t) 1));
        e->restart_cause = rp->cooling_cause;
        e->rss_kib = rp->cooling_rss_kib;
        e->limit_kib = rp->cooling_limit_kib;
        e->retry_after_ms = MAX(usec_to_millis_up(left), (uint64_t) 1);
        e->restarts_in_window = n;
}

bool restart_policy_check_cooling(RestartPolicy *rp, bool *ret_ended) {
        if (ret_ended)
                *ret_ended = false;
        if (!rp->cooling_down)
                return false;
        if (restart_window_is_full(&rp->window, now_usec(CLOCK_MONOTONIC)))
                return true;
        rp->cooling_down = false;
        restart_policy_disarm(rp);
        if (ret_ended)
                *ret_ended = true;
        return false;
}

void restart_policy_reset(RestartPolicy *rp) {
        bool was_cooling = rp->cooling_down;

        restart_window_reset(&rp->window);
        rp->cooling_down = false;
        rp->cooling_cause = _RESTART_CAUSE_INVALID;
        rp->cooling_rss_kib = rp->cooling_limit_kib = 0;
        restart_policy_disarm(rp);
        rp->n_poison = rp->poison_next = 0;
        if (was_cooling)
                log_info("Project %s: the operator cleared the restart window.", rp->root);
}

static void restart_policy_poison_add(RestartPolicy *rp, uint64_t command_hash) {
        if (restart_policy_poison_contains(rp, command_hash))
                return;
        /* a small ring: the oldest is forgotten first */
        rp->poison[rp->poison_next] = command_hash;
        rp->poison_next = (rp->poison_next + 1) % ELEMENTSOF(rp->poison);
        if (rp->n_poison < ELEMENTSOF(rp->poison))
                rp->n_poison++;
}

bool restart_policy_poison_contains(const RestartPolicy *rp, uint64_t command_hash) {
        for (unsigned i = 0; i < rp->n_poison; i++)
                if (rp->poison[i] == command_hash)
                        return true;
        return false;
}

void restart_policy_shutdown(RestartPolicy *rp) {
        restart_policy_disarm(rp);
}

void restart_policy_call_error(RestartPolicy *rp, RestartCause cause, const char *reason, uint64_t rss_kib,
                               uint64_t limit_kib, unsigned retry_count, const uint64_t *command_hash,
                               const char *failed_during, LhError *e) {
        if (retry_count > 0 && command_hash && restart_cause_counts_toward_limit(cause) &&
            cause != RESTART_CAUSE_RSS_HARD_LIMIT) {
                /* the same command crashed two workers: the input, not the worker */
                restart_policy_poison_add(rp, *command_hash);
                lh_error_set(e, "poison_input", false,
                             "This input crashed the worker of %s twice (%s%s%s); it is not run again.",
                             rp->root, strna(restart_cause_to_string(cause)), isempty(reason) ? "" : ": ",
                             strempty(reason));
        } else if (!restart_policy_input_error(rp, cause, reason, e))
                lh_error_set(e, "worker_failed", cause != RESTART_CAUSE_RSS_HARD_LIMIT,
                             "The worker of %s ended during the call (%s%s%s)%s.", rp->root,
                             strna(restart_cause_to_string(cause)), isempty(reason) ? "" : ": ",
                             strempty(reason), retry_count > 0 ? ", also on the retry" : "");
        e->restart_cause = cause;
        e->rss_kib = rss_kib;
        e->limit_kib = limit_kib;
        e->details = json_object_new_object();
        if (e->details)
                (void) json_add(e->details, "failed_during", json_object_new_string(failed_during));
}

void restart_policy_poison_error(const RestartPolicy *rp, LhError *e) {
        lh_error_set(e, "poison_input", false,
                     "This input crashed the worker of %s twice; it is not run again "
                     "(an operator's `lean-hostctl restart` forgets it).", rp->root);
}
