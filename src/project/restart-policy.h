/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-project restart policy; see the comment at the top of
 * restart-policy.c. Only actor.c uses it. */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "project/project-internal.h"

/* Pure: may a job whose worker ended with cause during its call run again
 * on a fresh worker? */
bool restart_policy_may_retry(JobFlags flags, unsigned retry_count, RestartCause cause);

/* A worker ended because of what the call asked for, not by a fault of its
 * own (RESTART_CAUSE_REPLY_TOO_LARGE): sets *e to the call's error, not
 * retryable (the same input gives the same reply), and returns true. Such
 * an end is never retried and never counted. */
bool restart_policy_input_error(const LhProject *p, RestartCause cause, const char *reason, LhError *e);

/* Pure: the identity of a job command for poison-input bookkeeping: the
 * import fingerprint and every field except the worker-local handles
 * ("env", "proofState"), which differ from one worker to the next. */
uint64_t restart_policy_command_hash(const char *fingerprint, json_object *command);

/* The one place a worker end becomes observable: stats, last event, log,
 * observers. SHUTDOWN is logged but is not a restart. */
void project_record_event(LhProject *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                          uint64_t limit_kib, RestartEvent *ret);

/* Count an abnormal end in the window. false: the window was full, the
 * project now cools down (not recorded). */
bool project_count_abnormal(LhProject *p, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib);
/* Still cooling down? Ends it early when the window allows. */
bool project_check_cooling(LhProject *p);
void project_unavailable_error(LhProject *p, LhError *e);
/* An operator's restart or stop: empty window, no cooling down, no poison inputs. */
void project_reset_restart_policy(LhProject *p);

void project_poison_add(LhProject *p, uint64_t command_hash);
bool project_poison_contains(const LhProject *p, uint64_t command_hash);
