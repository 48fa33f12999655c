/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-project actor: a mailbox (running + queued ≤ mailbox_capacity),
 * one job at a time in order, one worker at a time (a replacement is started
 * only after the old one reported its death) and the memory tiers. The
 * restart policy (what counts, what is retried, poison inputs, cooling
 * down) is in restart-policy.c.
 *
 * Everything is event driven: submit/reply/death/timer handlers change the
 * state and schedule the kick (a defer source), which advances the current
 * job as far as it can. A job's done() is called with the project in a
 * consistent state (the job already detached), so done() may submit or
 * cancel other jobs; nothing is touched after it except scheduling a kick.
 *
 * Call:    queued → waiting (permit, worker slot, worker, recycle) →
 *          importing (header, once per worker and profile) → running →
 *          (retrying: back to waiting, once, read-only jobs, not after a
 *          hard-tier kill) → done
 * Project: idle ⇄ starting ⇄ busy; cooling_down; stopped.
 *
 * Owns: LhProject's actor fields (everything but `queue`, `slot`, `ticket`,
 * `restarts`, `facts_cache` and `record`, whose files own them). Must not know:
 * the registry's internals (it reads its config, loop, placer, observer and
 * shutting_down) or anything above (tools, bus). Lower files are told
 * through their verbs and answer through callbacks. */

#include <assert.h>
#include <limits.h>
#include <stdio.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "lean/readiness.h"
#include "project/project-internal.h"

#define CONFIG(p) ((p)->registry->config)

static const WorkerCallbacks project_worker_callbacks; /* below the callbacks */

/* ---- small helpers -------------------------------------------------------- */

/* Every change of a fact: the next project_get_facts() computes a new snapshot. */
static void project_facts_touch(LhProject *p) {
        facts_cache_invalidate(&p->facts_cache);
}

static void project_notify(LhProject *p, ProjectChange what) {
        LhRegistry *r = p->registry;

        project_facts_touch(p);
        if (r->observer && r->observer->project_changed)
                r->observer->project_changed(p, what, r->observer_userdata);
}

void project_kick(LhProject *p) {
        int r;

        if (!p->kick_source)
                return;
        r = sd_event_source_set_enabled(p->kick_source, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to schedule the actor of %s: %m", p->root);
}

/* ---- the restart policy's answers ------------------------------------------- */

/* The one place a worker end becomes observable (restart-policy.c keeps
 * the statistics; the observers hear it from here). */
static void project_record_event(LhProject *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                                 uint64_t limit_kib, RestartEvent *ret) {
        LhRegistry *r = p->registry;
        RestartEvent ev;

        bool counted = restart_policy_record(&p->restarts, p->slot.generation, p->slot.scope_unit, cause, reason,
                                             rss_kib, limit_kib, &ev);

        if (ret)
                *ret = ev;
        if (!counted)
                return;
        if (r->observer && r->observer->worker_restarted)
                r->observer->worker_restarted(p, &ev, r->observer_userdata);
        project_notify(p, PROJECT_CHANGE_RESTARTS);
}

static bool project_count_abnormal(LhProject *p, RestartCause cause, uint64_t rss_kib, uint64_t limit_kib) {
        if (restart_policy_count_abnormal(&p->restarts, cause, rss_kib, limit_kib))
                return true;
        /* cooling down now */
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
        return false;
}

bool project_check_cooling(LhProject *p) {
        bool ended, cooling = restart_policy_check_cooling(&p->restarts, &ended);

        if (ended)
                project_notify(p, PROJECT_CHANGE_STATE);
        return cooling;
}

static void project_on_cooled(void *userdata) {
        LhProject *p = userdata;

        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

static void project_reset_restart_policy(LhProject *p) {
        restart_policy_reset(&p->restarts);
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_RESTARTS);
}

/* The job leaves the project: its permit back, its answer with the facts. */
static void project_finish_job(LhProject *p, LhJob *j, const LhError *err) {
        LhFacts facts;

        project_get_facts(p, &facts);
        if (j->has_permit) {
                job_set_permit(j, false);
                admission_release_heavy(&p->registry->admission);
        }
        job_finish(j, &facts, err);
}

/* ---- worker lifecycle ------------------------------------------------------ */

/* The worker's end, recorded now (on_dead only cleans up): planned ends are
 * graceful; the ends we force are a kill (timeout: abnormal, counted now;
 * cancel: planned, never counted). */
static void project_end_worker(LhProject *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                               uint64_t limit_kib, RestartEvent *ret) {
        bool kill = cause == RESTART_CAUSE_TIMEOUT || cause == RESTART_CAUSE_CANCELLED;

        assert(p->slot.worker && !p->slot.stopping);

        project_record_event(p, cause, reason, rss_kib, limit_kib, ret);
        project_timer_disarm(p->idle_source);
        project_timer_disarm(p->timeout_source);
        worker_slot_stop(&p->slot, cause, reason, kill);
        if (kill)
                (void) project_count_abnormal(p, cause, rss_kib, limit_kib);
        project_notify(p, PROJECT_CHANGE_WORKER);
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        char reason[128];

        if (!project_is_evictable(p))
                return 0;
        snprintf(reason, sizeof reason, "idle for %" PRIu64 " s", CONFIG(p)->worker_idle_secs);
        project_end_worker(p, RESTART_CAUSE_IDLE, reason, p->slot.anon_kib, 0, NULL);
        return 0;
}

void project_evict(LhProject *p) {
        if (!project_is_evictable(p))
                return;
        /* as the reference: giving the slot to another project is an idle stop */
        project_end_worker(p, RESTART_CAUSE_IDLE, "evicted: least recently used idle worker, slot needed by another project",
                               p->slot.anon_kib, 0, NULL);
}

/* ---- jobs ------------------------------------------------------------------ */

static void project_after_job(LhProject *p, LhJob *j);

/* The current job ends: failed (the worker is not judged after it) or
 * completed while its worker lives (success or a job error). */
static void project_end_current(LhProject *p, const LhError *err, bool completed) {
        LhJob *j = p->current;

        assert(j);
        project_timer_disarm(p->timeout_source);
        p->current = NULL;
        project_facts_touch(p);
        if (completed)
                project_after_job(p, j);
        else
                admission_withdraw(&p->ticket);
        project_finish_job(p, j, err);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

/* Planned recycles after a job; they go into the call's facts when the
 * reference does so (post-job). */
static void project_after_job(LhProject *p, LhJob *j) {
        const LhConfig *c = CONFIG(p);
        RestartEvent ev;
        TierVerdict v;

        admission_ticket_touch(&p->ticket, now_usec(CLOCK_MONOTONIC));
        if (!p->slot.worker || p->slot.stopping)
                return;
        worker_slot_served(&p->slot);
        project_facts_touch(p);
        /* the tiers below judge the memory the job left behind, not an older sample */
        (void) worker_sample_now(p->slot.worker);
        if (!p->slot.worker || p->slot.stopping)
                return;

        if (p->restart_requested) {
                p->restart_requested = false;
                project_end_worker(p, RESTART_CAUSE_EXPLICIT, "restart requested by the operator",
                                       p->slot.anon_kib, 0, NULL);
        } else if (tier_after_job(c, &p->slot, &v)) {
                project_end_worker(p, v.cause, v.reason, v.rss_kib, v.limit_kib, &ev);
                if (v.cause == RESTART_CAUSE_RSS_POST_JOB)
                        job_note_restart(j, &ev, true);
        }
}

/* For j, the current job: on failure j ends with worker_failed. */
static void project_spawn_worker(LhProject *p, LhJob *j) {
        LhRegistry *r = p->registry;
        const LhConfig *c = CONFIG(p);
        _cleanup_strv_free_ char **argv_default = NULL;
        char **argv = c->worker_command;
        LhError e;
        int k = 0;

        if (strv_isempty(argv)) {
                k = project_default_worker_argv(p, &argv_default);
                argv = argv_default;
        }
        /* enforcement "scope" requires a scope; "auto" takes one when it can */
        if (k >= 0)
                k = worker_slot_start(&p->slot, r->event, c, c->enforcement == ENFORCEMENT_PROCESS ? NULL : r->placer,
                                      c->enforcement == ENFORCEMENT_SCOPE, project_enforcement_for(c, r->placer),
                                      argv, p->root, p->id, p->description, &project_worker_callbacks, p);
        if (k < 0) {
                admission_release_slot(&r->admission, &p->ticket);
                lh_error_set(&e, "worker_failed", k != -EOPNOTSUPP, "Could not start a worker for %s: %s%s", p->root,
                             strerror(-k), k == -EOPNOTSUPP ? " (enforcement \"scope\" needs a user manager with a memory controller)" : "");
                log_warning_errno(k, "Project %s: could not start a worker: %m", p->root);
                project_end_current(p, &e, false);
                return;
        }
        log_debug("Project %s: worker %" PRIu64 " starting (pid %d).", p->root, p->slot.generation,
                  (int) worker_get_pid(p->slot.worker));
        job_progress(j, "starting a Lean worker (generation %" PRIu64 ")", p->slot.generation);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
}

static int on_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        LhJob *j = p->current;
        uint64_t ms = CONFIG(p)->request_timeout_millis;
        RestartEvent ev;
        char reason[128];
        LhError e;

        if (!j || (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING) ||
            !p->slot.worker || p->slot.stopping)
                return 0;

        snprintf(reason, sizeof reason, "no reply within %" PRIu64 " ms", ms);
        project_end_worker(p, RESTART_CAUSE_TIMEOUT, reason, p->slot.rss_kib, 0, &ev);
        job_note_restart(j, &ev, false);
        lh_error_set(&e, "timeout", true,
                     "No reply from the worker of %s within %" PRIu64 " ms; the worker (generation %" PRIu64 ") was killed.",
                     p->root, ms, ev.worker_generation);
        e.restart_cause = RESTART_CAUSE_TIMEOUT;
        e.rss_kib = ev.rss_kib;
        project_end_current(p, &e, false);
        return 0;
}

static void project_send(LhProject *p, LhJob *j, json_object *command) {
        LhError e;
        int k;

        /* a file-mode command names a file we never read: no poison-input identity */
        bool hashed = j->phase == JOB_PHASE_RUNNING && !(j->flags & JOB_OWN_IMPORTS);
        job_note_command(j, hashed, hashed ? restart_policy_command_hash(j->fingerprint, command) : 0);
        if (j->command_hashed && restart_policy_poison_contains(&p->restarts, j->command_hash)) {
                json_object_put(command);
                restart_policy_poison_error(&p->restarts, &e);
                project_end_current(p, &e, false);
                return;
        }
        k = worker_send(p->slot.worker, command);
        json_object_put(command);
        if (k < 0) {
                lh_error_set(&e, "worker_failed", true, "Could not send the command to the worker of %s: %s",
                             p->root, strerror(-k));
                project_end_current(p, &e, true);
                return;
        }
        (void) project_timer_arm(p->registry->event, &p->timeout_source,
                                 CONFIG(p)->request_timeout_millis * USEC_PER_MSEC, on_request_timeout, p);
}

/* After start()/step(): r == 0 send *command, 1 finished, < 0 error. */
static void project_handle_step(LhProject *p, LhJob *j, int r, json_object *command) {
        LhError e;

        if (p->current != j || j->phase != JOB_PHASE_RUNNING || !p->slot.worker || p->slot.stopping) {
                /* cancelled (or the worker went) from inside the callback */
                json_object_put(command);
                return;
        }

        if (r == 0 && command) {
                project_send(p, j, command);
                return;
        }
        json_object_put(command);

        if (r > 0) {
                project_end_current(p, NULL, true);
                return;
        }
        if (r == 0)
                lh_error_set(&e, "internal_error", false, "The job produced no command.");
        else if (!j->has_error)
                lh_error_set(&e, "internal_error", false, "The job failed: %s", strerror(-r));
        project_end_current(p, r == 0 || !j->has_error ? &e : NULL, true);
}

static void project_start_job(LhProject *p, LhJob *j) {
        json_object *command = NULL;
        int r;

        job_set_phase(j, JOB_PHASE_RUNNING);
        job_progress(j, "running in Lean (worker generation %" PRIu64 ")", p->slot.generation);
        if (!(j->flags & JOB_OWN_IMPORTS) && (!p->active_profile || !streq(p->active_profile, j->fingerprint))) {
                char *f = strdup(j->fingerprint);

                if (f) {
                        free(p->active_profile);
                        p->active_profile = f;
                }
                project_notify(p, PROJECT_CHANGE_WORKER);
        }
        project_notify(p, PROJECT_CHANGE_STATE);

        job_ref(j);
        r = j->ops->start(j, j->userdata, &command);
        project_handle_step(p, j, r, command);
        job_unref(j);
}

static int project_send_header(LhProject *p, LhJob *j) {
        json_object *command;
        int k;

        k = import_header_command(j->imports, &command);
        if (k < 0)
                return k;
        job_set_phase(j, JOB_PHASE_IMPORTING);
        job_progress(j, "importing %s", isempty(j->fingerprint) ? "the prelude" : j->fingerprint);
        project_send(p, j, command);
        return 0;
}

/* The header's reply: its env, or import_failed with the error messages. */
static void project_handle_header_reply(LhProject *p, LhJob *j, json_object *reply) {
        _cleanup_(lh_error_done) LhError e = {};
        int env;

        if (import_header_parse_reply(reply, j->fingerprint, &env, &e) < 0) {
                project_end_current(p, &e, true);
                return;
        }
        if (import_profiles_add(&p->slot.profiles, j->fingerprint, env) < 0)
                log_oom(); /* the env is still used for this job, only not remembered */
        job_set_base_env_internal(j, env);
        project_start_job(p, j);
}

/* ---- the kick: advance the current job as far as possible ------------------ */

static void project_went_idle(LhProject *p) {
        LhRegistry *r = p->registry;

        admission_withdraw(&p->ticket);
        if (!p->slot.worker && p->ticket.holds_slot)
                admission_release_slot(&r->admission, &p->ticket);
        if (project_is_evictable(p)) {
                if (CONFIG(p)->worker_idle_secs > 0)
                        (void) project_timer_arm(p->registry->event, &p->idle_source,
                                                 CONFIG(p)->worker_idle_secs * USEC_PER_SEC, on_idle_timeout, p);
                admission_poke(&r->admission);
        }
}

static void project_dispatch(LhProject *p) {
        LhRegistry *r = p->registry;
        const LhConfig *c = CONFIG(p);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        RestartEvent ev;
        TierVerdict v;
        LhError e;
        LhJob *j;
        int k;

        worker_slot_free_graveyard(&p->slot, false);
        if (r->shutting_down)
                return;

        if (project_check_cooling(p)) {
                /* fail fast, one at a time: done() may change the queue */
                if (p->current) {
                        /* a command in flight finishes; one still waiting fails */
                        if (p->current->phase == JOB_PHASE_WAITING) {
                                restart_policy_unavailable_error(&p->restarts, &e);
                                project_end_current(p, &e, false);
                        }
                        return;
                }
                j = p->queue.head;
                if (j) {
                        job_queue_remove(&p->queue, j);
                        project_facts_touch(p);
                        restart_policy_unavailable_error(&p->restarts, &e);
                        project_finish_job(p, j, &e);
                        project_notify(p, PROJECT_CHANGE_STATE);
                        project_kick(p);
                } else
                        project_went_idle(p);
                return;
        }

        if (!p->current) {
                j = p->queue.head;
                if (!j) {
                        project_went_idle(p);
                        return;
                }
                job_queue_remove(&p->queue, j);
                p->current = j;
                project_facts_touch(p);
                job_begin(j, now);
                p->stopped = false;
                project_timer_disarm(p->idle_source);
                project_notify(p, PROJECT_CHANGE_STATE);
                job_queue_progress(&p->queue, p->current);
        }

        j = p->current;
        if (j->phase != JOB_PHASE_WAITING)
                return; /* a command is outstanding */

        /* a worker on its way down must be gone before anything else; the
         * worker layer may have killed it on its own (a protocol violation):
         * its on_dead follows, the job waits for the next worker */
        if (p->slot.worker && (p->slot.stopping || worker_get_state(p->slot.worker) >= WORKER_STOPPING))
                return;

        if ((j->flags & JOB_HEAVY) && !j->has_permit) {
                if (!admission_acquire_heavy(&r->admission, &p->ticket)) {
                        job_progress(j, "waiting for a heavy-job permit (worker.heavy_permits)");
                        return;
                }
                job_set_permit(j, true);
        }

        if (!p->slot.worker && !admission_acquire_slot(&r->admission, &p->ticket)) {
                job_progress(j, "waiting for a worker slot (worker.max_workers)");
                return;
        }
        job_note_admitted(j, now);
        if (!p->slot.worker) {
                project_spawn_worker(p, j);
                return; /* on_ready kicks */
        }
        if (!p->slot.ready)
                return;
        if (j->flags & JOB_OWN_IMPORTS) { /* the command brings its own imports */
                job_set_base_env_internal(j, -1);
                project_start_job(p, j);
                return;
        }

        /* import-switch tier: other imports than last time, and the worker is big */
        if (job_take_switch_check(j)) {
                if (p->active_profile && !streq(p->active_profile, j->fingerprint)) {
                        (void) worker_sample_now(p->slot.worker);
                        p->profile_switch_count++;
                        project_notify(p, PROJECT_CHANGE_WORKER);
                        if (tier_import_switch(c, &p->slot, &v)) {
                                project_end_worker(p, v.cause, v.reason, v.rss_kib, v.limit_kib, &ev);
                                job_note_restart(j, &ev, true);
                                return; /* on_dead kicks */
                        }
                }
        }

        const ImportProfile *prof = import_profiles_find(&p->slot.profiles, j->fingerprint);
        if (prof) {
                job_set_base_env_internal(j, prof->env);
                project_start_job(p, j);
                return;
        }

        if (tier_max_imports(c, &p->slot, &v)) {
                project_end_worker(p, v.cause, v.reason, v.rss_kib, v.limit_kib, NULL);
                return;
        }

        k = project_send_header(p, j);
        if (k < 0) {
                lh_error_set(&e, "internal_error", false, "Out of memory.");
                project_end_current(p, &e, true);
        }
}

static int on_kick(sd_event_source *s, void *userdata) {
        project_dispatch(userdata);
        return 0;
}

/* ---- worker callbacks -------------------------------------------------------- */

static void project_on_ready(LhWorker *w, void *userdata) {
        LhProject *p = userdata;

        if (!worker_slot_ready(&p->slot, w))
                return;
        log_debug("Project %s: worker %" PRIu64 " ready (%s%s%s).", p->root, p->slot.generation,
                  enforcement_mode_to_string(p->slot.mode), p->slot.scope_unit[0] ? ", " : "", p->slot.scope_unit);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
        project_kick(p);
}

static void project_on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        LhProject *p = userdata;

        if (worker_slot_sample(&p->slot, w, m))
                project_facts_touch(p);
}

static void project_on_reply(LhWorker *w, json_object *reply, void *userdata) {
        LhProject *p = userdata;
        LhJob *j = p->current;
        json_object *command = NULL;
        int r;

        /* late replies (a killed or older worker, a cancelled job) are dropped: a
         * command only ever goes to the live worker, one reply each */
        if (w != p->slot.worker || p->slot.stopping || !j ||
            (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING)) {
                log_debug("Project %s: dropping a reply from worker %" PRIu64 " that nobody waits for.",
                          p->root, worker_get_generation(w));
                return;
        }
        project_timer_disarm(p->timeout_source);

        if (j->phase == JOB_PHASE_IMPORTING) {
                project_handle_header_reply(p, j, reply);
                return;
        }

        job_ref(j);
        r = j->ops->step ? j->ops->step(j, j->userdata, reply, &command) : 1;
        project_handle_step(p, j, r, command);
        job_unref(j);
}

static void project_on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib,
                            uint64_t limit_kib, void *userdata) {
        LhProject *p = userdata;
        LhRegistry *r = p->registry;
        bool was_ready, recorded, allowed = true, in_call;
        RestartEvent ev = {};
        WorkerSlotEnd end;
        LhJob *j;
        LhError e;

        if (!worker_slot_bury(&p->slot, w, &end))
                return;
        was_ready = end.was_ready;
        recorded = end.recorded;
        if (rss_kib == 0)
                rss_kib = end.rss_kib;
        project_timer_disarm(p->timeout_source);
        project_timer_disarm(p->idle_source);

        j = p->current;
        in_call = j && (j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING ||
                        (j->phase == JOB_PHASE_WAITING && !was_ready));
        if (!recorded) {
                project_record_event(p, cause, reason, rss_kib, limit_kib, &ev);
                /* the retry of a job is charged once, with its first crash */
                if (!(in_call && j->retry_count > 0))
                        allowed = project_count_abnormal(p, cause, rss_kib, limit_kib);
        }

        admission_release_slot(&r->admission, &p->ticket);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);

        if (!recorded && in_call) {
                /* for the caller's smoke accounting: did the job's own command run? */
                const char *failed_during = j->phase == JOB_PHASE_IMPORTING ? "import_header" :
                                            j->phase == JOB_PHASE_RUNNING ? "command" : "startup";

                job_note_restart(j, &ev, true);

                if (!allowed) {
                        restart_policy_unavailable_error(&p->restarts, &e);
                        project_end_current(p, &e, false);
                        return;
                }
                if (restart_policy_may_retry(j->flags, j->retry_count, cause)) {
                        log_info("Project %s: worker %" PRIu64 " died during a read-only call (%s), retrying it once.",
                                 p->root, ev.worker_generation, strna(restart_cause_to_string(cause)));
                        project_timer_disarm(p->timeout_source);
                        job_reset_for_retry(j);
                        job_progress(j, "the worker ended (%s): retrying the call on a new worker",
                                     strna(restart_cause_to_string(cause)));
                        project_facts_touch(p);
                        project_kick(p);
                        return;
                }

                restart_policy_call_error(&p->restarts, cause, reason, rss_kib, limit_kib, j->retry_count,
                                          j->phase == JOB_PHASE_RUNNING && j->command_hashed ? &j->command_hash : NULL,
                                          failed_during, &e);
                project_end_current(p, &e, false);
                lh_error_done(&e);
                return;
        }

        project_kick(p);
}

static const WorkerCallbacks project_worker_callbacks = {
        .on_ready = project_on_ready,
        .on_reply = project_on_reply,
        .on_dead = project_on_dead,
        .on_sample = project_on_sample,
};

/* ---- project object ---------------------------------------------------------- */

int project_new(LhProject **ret, LhRegistry *r, const char *root) {
        const LhConfig *c = r->config;
        LhProject *p;
        int k;

        p = new0(LhProject, 1);
        if (!p)
                return -ENOMEM;
        p->registry = r;
        facts_cache_init(&p->facts_cache);
        worker_slot_init(&p->slot, project_enforcement_for(c, r->placer));
        p->root = strdup(root);
        if (!p->root) {
                free(p);
                return -ENOMEM;
        }
        hash_to_hex16(hash_string(p->root), p->id);
        snprintf(p->description, sizeof p->description, "Lean worker for %s", p->root);

        k = restart_policy_init(&p->restarts, r->event, p->root, p->id, c->restart_limit, c->restart_window_secs,
                                c->worker_max_reply_bytes, project_on_cooled, p);
        if (k < 0)
                goto fail;
        k = admission_ticket_add(&r->admission, &p->ticket, p);
        if (k < 0)
                goto fail;
        k = sd_event_add_defer(r->event, &p->kick_source, on_kick, p);
        if (k < 0)
                goto fail;
        k = sd_event_source_set_enabled(p->kick_source, SD_EVENT_OFF);
        if (k < 0)
                goto fail;
        (void) sd_event_source_set_description(p->kick_source, "project-kick");
        *ret = p;
        return 0;
fail:
        project_free(p);
        return k;
}

LhProject *project_free(LhProject *p) {
        if (!p)
                return NULL;

        /* registry_free shut us down first: no jobs left */
        assert(!p->current && !p->queue.head);
        worker_slot_done(&p->slot);
        sd_event_source_disable_unref(p->kick_source);
        sd_event_source_disable_unref(p->timeout_source);
        sd_event_source_disable_unref(p->idle_source);
        restart_policy_done(&p->restarts);
        admission_ticket_remove(&p->registry->admission, &p->ticket);
        free(p->active_profile);
        free(p->root);
        return mfree(p);
}

void project_shutdown(LhProject *p) {
        LhRegistry *r = p->registry;
        RestartEvent ev;
        LhError e;
        LhJob *j;

        project_timer_disarm(p->timeout_source);
        project_timer_disarm(p->idle_source);
        restart_policy_shutdown(&p->restarts);
        project_timer_disarm(p->kick_source);

        lh_error_set(&e, "shutting_down", true, "The daemon is shutting down; call again once it is back.");
        /* one at a time from the head: done() may cancel others (submits are refused now) */
        while ((j = p->queue.head)) {
                job_queue_remove(&p->queue, j);
                project_facts_touch(p);
                project_finish_job(p, j, &e);
        }
        if ((j = p->current)) {
                p->current = NULL;
                project_facts_touch(p);
                project_finish_job(p, j, &e);
        }
        admission_withdraw(&p->ticket);

        if (p->slot.worker && !p->slot.stop_recorded)
                project_record_event(p, RESTART_CAUSE_SHUTDOWN, "daemon shutting down", p->slot.rss_kib, 0, &ev);
        /* kills and reaps synchronously: no orphans, no on_dead */
        worker_slot_done(&p->slot);
        admission_release_slot(&r->admission, &p->ticket);
        p->stopped = true;
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_WORKER);
}

int project_restart_worker(LhProject *p) {
        if (p->registry->shutting_down)
                return -ESHUTDOWN;
        project_reset_restart_policy(p);
        project_kick(p);
        if (!p->slot.worker || p->slot.stopping)
                return 0; /* nothing to restart: the next call starts a fresh worker anyway */
        if (p->current) {
                /* not under a running call: right after it */
                p->restart_requested = true;
                return 0;
        }
        project_end_worker(p, RESTART_CAUSE_EXPLICIT, "restart requested by the operator", p->slot.anon_kib, 0, NULL);
        return 0;
}

int project_stop_worker(LhProject *p) {
        LhError e;

        if (p->registry->shutting_down)
                return -ESHUTDOWN;

        p->stopped = true;
        project_facts_touch(p);
        p->restart_requested = false;
        project_reset_restart_policy(p);
        if (p->slot.worker && !p->slot.stopping)
                project_end_worker(p, RESTART_CAUSE_SHUTDOWN, "stopped by the operator", p->slot.anon_kib, 0, NULL);
        if (p->current) {
                lh_error_set(&e, "cancelled", true, "The worker of %s was stopped by the operator.", p->root);
                project_end_current(p, &e, false);
        } else
                project_notify(p, PROJECT_CHANGE_STATE);
        return 0;
}

void project_enqueue(LhProject *p, LhJob *j) {
        job_attach(j, p, now_usec(CLOCK_MONOTONIC));
        job_queue_append(&p->queue, j);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

void project_cancel_job(LhProject *p, LhJob *j) {
        RestartEvent ev;
        LhError e;

        lh_error_set(&e, "cancelled", false, "The call was cancelled.");
        if (j->phase == JOB_PHASE_QUEUED) {
                job_queue_remove(&p->queue, j);
                project_facts_touch(p);
                project_finish_job(p, j, &e);
                project_notify(p, PROJECT_CHANGE_STATE);
                return;
        }

        assert(p->current == j);
        if ((j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING) && p->slot.worker && !p->slot.stopping) {
                /* the worker is inside the command: the only way out is to kill it */
                project_end_worker(p, RESTART_CAUSE_CANCELLED, "the running call was cancelled", p->slot.rss_kib, 0, &ev);
                job_note_restart(j, &ev, false);
                e.restart_cause = RESTART_CAUSE_CANCELLED;
        }
        project_end_current(p, &e, false);
}
