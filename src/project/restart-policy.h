/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-project restart policy; see the comment at the top of
 * restart-policy.c. Owns RestartPolicy (restart statistics, the window,
 * cooling down, poison inputs). Knows nothing of the actor: it reports back
 * through return values and, for the cool-down timer, one callback. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "project/error.h"
#include "project/facts.h"
#include "project/project.h"
#include "project/restart.h"

typedef struct RestartPolicy {
        /* set at init, borrowed */
        sd_event *event;
        const char *root, *id;
        uint64_t window_secs;
        uint64_t max_reply_bytes;
        void (*cooled)(void *userdata); /* cooling down ended on its own (timer) */
        void *userdata;

        RestartWindow window;
        bool cooling_down;
        RestartCause cooling_cause;
        uint64_t cooling_rss_kib, cooling_limit_kib;
        sd_event_source *cooldown_source;
        uint64_t restarts_total;
        uint64_t restarts_by_cause[_RESTART_CAUSE_MAX];
        RestartEvent last_restart;
        uint64_t poison[32];       /* commands that crashed a worker on their retry too */
        unsigned n_poison, poison_next;
} RestartPolicy;

int restart_policy_init(RestartPolicy *rp, sd_event *event, const char *root, const char *id, uint64_t limit,
                        uint64_t window_secs, uint64_t max_reply_bytes, void (*cooled)(void *userdata),
                        void *userdata);
void restart_policy_done(RestartPolicy *rp);

/* Pure: may a job whose worker ended with cause during its call run again
 * on a fresh worker? */
bool restart_policy_may_retry(JobFlags flags, unsigned retry_count, RestartCause cause);

/* Pure: the identity of a job command for poison-input bookkeeping: the
 * import fingerprint and every field except the worker-local handles
 * ("env", "proofState"), which differ from one worker to the next. */
uint64_t restart_policy_command_hash(const char *fingerprint, json_object *command);

/* The one place a worker end becomes observable: stats, last event, log.
 * *ret is the event. true: it is a restart (counted in the statistics; the
 * caller tells the observers); SHUTDOWN is logged but is not one. */
bool restart_policy_record(RestartPolicy *rp, uint64_t generation, const char *scope_unit, RestartCause cause,
                           const char *reason, uint64_t rss_kib, uint64_t limit_kib, RestartEvent *ret);

/* Count an abnormal end in the window. false: the window was full, the
 * project now cools down (not recorded). */
bool restart_policy_count_abnormal(RestartPolicy *rp, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib);
/* Still cooling down? Ends it early when the window allows (*ret_ended). */
bool restart_policy_check_cooling(RestartPolicy *rp, bool *ret_ended);
void restart_policy_unavailable_error(RestartPolicy *rp, LhError *e);
/* An operator's restart or stop: empty window, no cooling down, no poison inputs. */
void restart_policy_reset(RestartPolicy *rp);

bool restart_policy_poison_contains(const RestartPolicy *rp, uint64_t command_hash);
/* Daemon stop: no cool-down timer any more. */
void restart_policy_shutdown(RestartPolicy *rp);

/* The call's error when its worker ended during it and it is not retried:
 * poison_input when the same job command (*command_hash, NULL: not a job
 * command) crashed a second worker (remembered now), reply_too_large, or
 * worker_failed; with the cause, sizes and details.failed_during. */
void restart_policy_call_error(RestartPolicy *rp, RestartCause cause, const char *reason, uint64_t rss_kib,
                               uint64_t limit_kib, unsigned retry_count, const uint64_t *command_hash,
                               const char *failed_during, LhError *e);
/* A command known to be poison is not sent. */
void restart_policy_poison_error(const RestartPolicy *rp, LhError *e);
