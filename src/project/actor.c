/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The per-project actor: a mailbox (running + queued ≤ mailbox_capacity per lane),
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
 * All of this is per lane (one job, one worker; pool.c routes jobs to
 * lanes); a recycled or killed worker gets a warm successor (lane.c).
 *
 * Owns: LhLane (but its life and warm-up wish: lane.c), LhProject's
 * `last_generation` and `profile_switch_count`. Must not know:
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
#define LCONFIG(l) CONFIG((l)->project)

static const WorkerCallbacks project_worker_callbacks; /* below the callbacks */

/* Every change of a fact: the next project_get_facts() computes a new snapshot. */
static void project_facts_touch(LhProject *p) {
        facts_cache_invalidate(&p->facts_cache);
}

void project_notify(LhProject *p, ProjectChange what) {
        LhRegistry *r = p->registry;

        project_facts_touch(p);
        if (p->in_kick) {
                p->pending_changes |= what;
                return;
        }
        REGISTRY_TELL(r, project_changed, p, what);
}

void project_notify_later(LhProject *p, ProjectChange what) {
        project_facts_touch(p);
        p->pending_changes |= what; /* told at the end of the kick (pool.c on_kick()) */
        project_kick(p);
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
static void lane_record_event(LhLane *l, RestartCause cause, const char *reason, uint64_t rss_kib,
                              uint64_t limit_kib, RestartEvent *ret) {
        LhProject *p = l->project;
        LhRegistry *r = p->registry;
        RestartEvent ev;

        bool counted = restart_policy_record(&p->restarts, l->slot.generation, l->slot.scope_unit, cause, reason,
                                             rss_kib, limit_kib, &ev);

        if (ret)
                *ret = ev;
        if (!counted)
                return;
        REGISTRY_TELL(r, worker_restarted, p, &ev);
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

/* The job leaves the project: its permit back, its answer with the facts. */
void project_finish_job(LhProject *p, LhJob *j, const LhFacts *facts, const LhError *err) {
        if (j->has_permit) {
                job_set_permit(j, false);
                admission_release_heavy(&p->registry->admission);
        }
        job_finish(j, facts, err);
}

static void lane_finish_job(LhLane *l, LhJob *j, const LhError *err) {
        LhFacts facts;

        lane_get_facts(l, &facts);
        project_finish_job(l->project, j, &facts, err);
}

/* ---- worker lifecycle ------------------------------------------------------ */

/* The worker's end, recorded now (on_dead only cleans up): planned ends are
 * graceful; the ends we force are a kill (timeout: abnormal, counted now;
 * cancel: planned, never counted). */
static void lane_end_worker(LhLane *l, RestartCause cause, const char *reason, uint64_t rss_kib,
                            uint64_t limit_kib, RestartEvent *ret) {
        bool kill = cause == RESTART_CAUSE_TIMEOUT || cause == RESTART_CAUSE_CANCELLED;

        assert(l->slot.worker && !l->slot.stopping);

        lane_want_successor(l, cause);
        lane_record_event(l, cause, reason, rss_kib, limit_kib, ret);
        project_timer_disarm(l->idle_source);
        project_timer_disarm(l->timeout_source);
        worker_slot_stop(&l->slot, cause, reason, kill);
        if (kill)
                (void) project_count_abnormal(l->project, cause, rss_kib, limit_kib);
        project_notify(l->project, PROJECT_CHANGE_WORKER);
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhLane *l = userdata;
        char reason[128];

        if (!lane_is_evictable(l))
                return 0;
        snprintf(reason, sizeof reason, "idle for %" PRIu64 " s", LCONFIG(l)->worker_idle_secs);
        lane_end_worker(l, RESTART_CAUSE_IDLE, reason, l->slot.anon_kib, 0, NULL);
        return 0;
}

void lane_evict(LhLane *l) {
        if (!lane_is_evictable(l))
                return;
        /* as the reference: giving the slot to another project is an idle stop */
        lane_end_worker(l, RESTART_CAUSE_IDLE, "evicted: least recently used idle worker, slot needed by another project",
                               l->slot.anon_kib, 0, NULL);
}

/* ---- jobs ------------------------------------------------------------------ */

static void lane_after_job(LhLane *l, LhJob *j);

/* The current job ends: failed (the worker is not judged after it) or
 * completed while its worker lives (success or a job error). */
static void lane_end_current(LhLane *l, const LhError *err, bool completed) {
        LhProject *p = l->project;
        LhJob *j = l->current;
        LhFacts facts;

        assert(j);
        project_timer_disarm(l->timeout_source);
        lane_note_service_time(l);
        /* the call's facts name the worker it ran on, taken before a recycle */
        lane_get_facts(l, &facts);
        l->current = NULL;
        l->busy_since = 0;
        project_facts_touch(p);
        if (completed)
                lane_after_job(l, j);
        else
                admission_withdraw(&l->ticket);
        if (j->worker_restarted)
                lane_get_facts(l, &facts);
        project_finish_job(p, j, &facts, err);
        project_notify_later(p, PROJECT_CHANGE_STATE);
}

/* Planned recycles after a job; they go into the call's facts when the
 * reference does so (post-job). */
static void lane_after_job(LhLane *l, LhJob *j) {
        LhProject *p = l->project;
        const LhConfig *c = CONFIG(p);
        RestartEvent ev;
        TierVerdict v;

        admission_ticket_touch(&l->ticket, now_usec(CLOCK_MONOTONIC));
        if (!l->slot.worker || l->slot.stopping)
                return;
        worker_slot_served(&l->slot);
        project_facts_touch(p);
        /* the tiers below judge the memory the job left behind, not an older sample */
        worker_slot_sample_now(&l->slot);
        if (!l->slot.worker || l->slot.stopping)
                return;

        if (l->restart_requested) {
                l->restart_requested = false;
                lane_end_worker(l, RESTART_CAUSE_EXPLICIT, "restart requested by the operator",
                                       l->slot.anon_kib, 0, NULL);
        } else if (tier_after_job(c, &l->slot, &v)) {
                lane_end_worker(l, v.cause, v.reason, v.rss_kib, v.limit_kib, &ev);
                if (v.cause == RESTART_CAUSE_RSS_POST_JOB)
                        job_note_restart(j, &ev, true);
        }
}

/* For j, the current job: on failure j ends with worker_failed. */
static void lane_spawn_worker(LhLane *l, LhJob *j) {
        LhProject *p = l->project;
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
                k = worker_slot_start(&l->slot, p->last_generation + 1, r->event, c, c->enforcement == ENFORCEMENT_PROCESS ? NULL : r->placer,
                                      c->enforcement == ENFORCEMENT_SCOPE, project_enforcement_for(c, r->placer),
                                      argv, p->root, p->id, p->description, &project_worker_callbacks, l);
        if (k >= 0)
                p->last_generation = l->slot.generation;
        if (k < 0 && !j) {
                /* a warm successor: the next call starts one itself (and reports) */
                admission_release_slot(&r->admission, &l->ticket);
                lane_clear_warm(l);
                log_warning_errno(k, "Project %s: could not start a warm worker: %m", p->root);
                return;
        }
        if (k < 0) {
                admission_release_slot(&r->admission, &l->ticket);
                lh_error_set(&e, "worker_failed", k != -EOPNOTSUPP, "Could not start a worker for %s: %s%s", p->root,
                             strerror(-k), k == -EOPNOTSUPP ? " (enforcement \"scope\" needs a user manager with a memory controller)" : "");
                log_warning_errno(k, "Project %s: could not start a worker: %m", p->root);
                lane_end_current(l, &e, false);
                return;
        }
        log_debug("Project %s: worker %" PRIu64 " starting (pid %d, lane %u%s).", p->root, l->slot.generation,
                  (int) worker_get_pid(l->slot.worker), l->index, j ? "" : ", warm successor");
        if (j)
                job_progress(j, "starting a Lean worker (generation %" PRIu64 ")", l->slot.generation);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
}

static int on_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhLane *l = userdata;
        LhProject *p = l->project;
        LhJob *j = l->current;
        uint64_t ms = CONFIG(p)->request_timeout_millis;
        RestartEvent ev;
        char reason[128];
        LhError e;

        if (!l->slot.worker || l->slot.stopping)
                return 0;
        if (!j && l->warming) {
                /* a warm-up that hangs: killed, counted, not repeated */
                snprintf(reason, sizeof reason, "no reply to the warm-up import within %" PRIu64 " ms", ms);
                lane_clear_warm(l);
                lane_end_worker(l, RESTART_CAUSE_TIMEOUT, reason, l->slot.rss_kib, 0, NULL);
                lane_clear_warm(l);
                return 0;
        }
        if (!j || (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING))
                return 0;

        snprintf(reason, sizeof reason, "no reply within %" PRIu64 " ms", ms);
        lane_end_worker(l, RESTART_CAUSE_TIMEOUT, reason, l->slot.rss_kib, 0, &ev);
        job_note_restart(j, &ev, false);
        lh_error_set(&e, "timeout", true,
                     "No reply from the worker of %s within %" PRIu64 " ms; the worker (generation %" PRIu64 ") was killed.",
                     p->root, ms, ev.worker_generation);
        e.restart_cause = RESTART_CAUSE_TIMEOUT;
        e.rss_kib = ev.rss_kib;
        lane_end_current(l, &e, false);
        return 0;
}

static void lane_send(LhLane *l, LhJob *j, json_object *command) {
        LhProject *p = l->project;
        LhError e;
        int k;

        /* a file-mode command names a file we never read: no poison-input identity */
        bool hashed = j->phase == JOB_PHASE_RUNNING && !(j->flags & JOB_OWN_IMPORTS);
        job_note_command(j, hashed, hashed ? restart_policy_command_hash(j->fingerprint, command) : 0);
        if (j->command_hashed && restart_policy_poison_contains(&p->restarts, j->command_hash)) {
                json_object_put(command);
                restart_policy_poison_error(&p->restarts, &e);
                lane_end_current(l, &e, false);
                return;
        }
        k = worker_send(l->slot.worker, command);
        json_object_put(command);
        if (k < 0) {
                lh_error_set(&e, "worker_failed", true, "Could not send the command to the worker of %s: %s",
                             p->root, strerror(-k));
                lane_end_current(l, &e, true);
                return;
        }
        (void) project_timer_arm(p->registry->event, &l->timeout_source,
                                 CONFIG(p)->request_timeout_millis * USEC_PER_MSEC, on_request_timeout, l);
}

/* After start()/step(): r == 0 send *command, 1 finished, < 0 error. */
static void lane_handle_step(LhLane *l, LhJob *j, int r, json_object *command) {
        LhError e;

        if (l->current != j || j->phase != JOB_PHASE_RUNNING || !l->slot.worker || l->slot.stopping) {
                /* cancelled (or the worker went) from inside the callback */
                json_object_put(command);
                return;
        }

        if (r == 0 && command) {
                lane_send(l, j, command);
                return;
        }
        if (r > 0) {
                job_take_result(j, command); /* done: command, when set, is the result */
                lane_end_current(l, NULL, true);
                return;
        }
        json_object_put(command);
        if (r == 0)
                lh_error_set(&e, "internal_error", false, "The job produced no command.");
        else if (!j->has_error)
                lh_error_set(&e, "internal_error", false, "The job failed: %s", strerror(-r));
        lane_end_current(l, r == 0 || !j->has_error ? &e : NULL, true);
}

static void lane_start_job(LhLane *l, LhJob *j) {
        LhProject *p = l->project;
        json_object *command = NULL;
        int r;

        job_set_phase(j, JOB_PHASE_RUNNING);
        job_note_worker(j, l->slot.generation);
        job_progress(j, "running in Lean (worker generation %" PRIu64 ")", l->slot.generation);
        if (!(j->flags & JOB_OWN_IMPORTS) && (!l->active_profile || !streq(l->active_profile, j->fingerprint))) {
                char *f = strdup(j->fingerprint);

                if (f) {
                        free(l->active_profile);
                        l->active_profile = f;
                }
                project_notify(p, PROJECT_CHANGE_WORKER);
        }
        project_notify(p, PROJECT_CHANGE_STATE);

        job_ref(j);
        r = j->ops->start(j, j->userdata, j->base_env, &command);
        lane_handle_step(l, j, r, command);
        job_unref(j);
}

static int lane_send_header(LhLane *l, LhJob *j) {
        json_object *command;
        int k;

        k = import_header_command(j->imports, &command);
        if (k < 0)
                return k;
        job_set_phase(j, JOB_PHASE_IMPORTING);
        job_progress(j, "importing %s", isempty(j->fingerprint) ? "the prelude" : j->fingerprint);
        lane_send(l, j, command);
        return 0;
}

/* The header's reply: its env, or import_failed with the error messages. */
static void lane_handle_header_reply(LhLane *l, LhJob *j, json_object *reply) {
        _cleanup_(lh_error_done) LhError e = {};
        int env;

        if (import_header_parse_reply(reply, j->fingerprint, &env, &e) < 0) {
                lane_end_current(l, &e, true);
                return;
        }
        if (import_profiles_add(&l->slot.profiles, j->fingerprint, env) < 0)
                log_oom(); /* the env is still used for this job, only not remembered */
        job_set_base_env_internal(j, env);
        lane_start_job(l, j);
}

/* ---- the lane's dispatch: advance its job (or its warm-up) -------------------- */

/* The warm successor's header, with no job: the profile is loaded and
 * remembered like a job's, so the next call with these imports runs at once. */
static void lane_send_warm_header(LhLane *l) {
        LhProject *p = l->project;
        json_object *command;
        int k;

        k = import_header_command(l->warm_imports, &command);
        if (k >= 0)
                k = worker_send(l->slot.worker, command);
        json_object_put(command);
        if (k < 0) {
                log_warning_errno(k, "Project %s: could not send the warm-up import: %m", p->root);
                lane_clear_warm(l);
                return;
        }
        lane_set_warming(l, true);
        (void) project_timer_arm(p->registry->event, &l->timeout_source,
                                 CONFIG(p)->request_timeout_millis * USEC_PER_MSEC, on_request_timeout, l);
}

static void lane_handle_warm_reply(LhLane *l, json_object *reply) {
        _cleanup_(lh_error_done) LhError e = {};
        LhProject *p = l->project;
        int env;

        if (import_header_parse_reply(reply, l->warm_fingerprint, &env, &e) >= 0 &&
            import_profiles_add(&l->slot.profiles, l->warm_fingerprint, env) >= 0) {
                free(l->active_profile);
                l->active_profile = TAKE_PTR(l->warm_fingerprint);
                log_debug("Project %s: worker %" PRIu64 " warm (%s).", p->root, l->slot.generation,
                          strempty(l->active_profile));
        }
        /* a failed import is the next call's to report (it sends the header again) */
        lane_clear_warm(l);
        project_notify_later(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
}

void lane_went_idle(LhLane *l) {
        LhProject *p = l->project;
        LhRegistry *r = p->registry;

        admission_withdraw(&l->ticket);
        if (!l->slot.worker && l->ticket.holds_slot && !l->warm_fingerprint)
                admission_release_slot(&r->admission, &l->ticket);
        if (lane_is_evictable(l)) {
                if (CONFIG(p)->worker_idle_secs > 0)
                        (void) project_timer_arm(r->event, &l->idle_source, CONFIG(p)->worker_idle_secs * USEC_PER_SEC,
                                                 on_idle_timeout, l);
                admission_poke(&r->admission);
        }
}

void lane_take_job(LhLane *l, LhJob *j, usec_t now) {
        LhProject *p = l->project;

        assert(!l->current);
        l->current = j;
        l->busy_since = now;
        project_facts_touch(p);
        job_begin(j, now);
        p->stopped = false;
        project_timer_disarm(l->idle_source);
        if (l->warm_fingerprint && !l->warming && !streq(l->warm_fingerprint, j->fingerprint))
                lane_clear_warm(l); /* the job says what the next worker loads */
        project_notify(p, PROJECT_CHANGE_STATE);
}

void lane_fail_waiting(LhLane *l, const LhError *e) {
        if (l->current && l->current->phase == JOB_PHASE_WAITING)
                lane_end_current(l, e, false);
}

/* No job: only a warm successor to start or to load. */
static void lane_dispatch_warm(LhLane *l) {
        LhProject *p = l->project;

        if (!l->warm_fingerprint || l->warming || p->registry->shutting_down)
                return;
        if (!l->slot.worker) {
                /* within the budget, and only with a free slot: a warm-up never evicts */
                if (!project_pool_may_start(p) || project_check_cooling(p))
                        return;
                if (!l->ticket.holds_slot) {
                        if (p->registry->admission.workers_active >= p->registry->admission.max_workers)
                                return;
                        if (!admission_acquire_slot(&p->registry->admission, &l->ticket))
                                return;
                }
                lane_spawn_worker(l, NULL);
                return;
        }
        if (!l->slot.ready || l->slot.stopping)
                return;
        if (import_profiles_find(&l->slot.profiles, l->warm_fingerprint))
                lane_clear_warm(l);
        else
                lane_send_warm_header(l);
}

void lane_dispatch(LhLane *l) {
        LhProject *p = l->project;
        LhRegistry *r = p->registry;
        const LhConfig *c = CONFIG(p);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        RestartEvent ev;
        TierVerdict v;
        LhError e;
        LhJob *j;
        int k;

        worker_slot_free_graveyard(&l->slot, false);
        if (r->shutting_down)
                return;
        if (!l->current) {
                lane_dispatch_warm(l);
                return;
        }
        if (l->warming)
                return; /* the warm-up's header first: the job then finds the profile */
        if (l->warm_fingerprint)
                lane_clear_warm(l); /* the job loads what it needs itself */

        j = l->current;
        if (j->phase != JOB_PHASE_WAITING)
                return; /* a command is outstanding */

        /* a worker on its way down must be gone before anything else; the
         * worker layer may have killed it on its own (a protocol violation):
         * its on_dead follows, the job waits for the next worker */
        if (l->slot.worker && (l->slot.stopping || worker_get_state(l->slot.worker) >= WORKER_STOPPING))
                return;

        if ((j->flags & JOB_HEAVY) && !j->has_permit) {
                if (!admission_acquire_heavy(&r->admission, &l->ticket)) {
                        job_progress(j, "waiting for a heavy-job permit (worker.heavy_permits)");
                        return;
                }
                job_set_permit(j, true);
        }

        if (!l->slot.worker && !admission_acquire_slot(&r->admission, &l->ticket)) {
                job_progress(j, "waiting for a worker slot (worker.max_workers)");
                return;
        }
        job_note_admitted(j, now);
        if (!l->slot.worker) {
                lane_spawn_worker(l, j);
                return; /* on_ready kicks */
        }
        if (!l->slot.ready)
                return;
        if (j->flags & JOB_OWN_IMPORTS) { /* the command brings its own imports */
                job_set_base_env_internal(j, -1);
                lane_start_job(l, j);
                return;
        }

        /* import-switch tier: other imports than last time, and the worker is big */
        if (job_take_switch_check(j)) {
                if (l->active_profile && !streq(l->active_profile, j->fingerprint)) {
                        worker_slot_sample_now(&l->slot);
                        p->profile_switch_count++;
                        project_notify(p, PROJECT_CHANGE_WORKER);
                        if (tier_import_switch(c, &l->slot, &v)) {
                                lane_end_worker(l, v.cause, v.reason, v.rss_kib, v.limit_kib, &ev);
                                job_note_restart(j, &ev, true);
                                return; /* on_dead kicks */
                        }
                }
        }

        const ImportProfile *prof = import_profiles_find(&l->slot.profiles, j->fingerprint);
        if (prof) {
                job_set_base_env_internal(j, prof->env);
                lane_start_job(l, j);
                return;
        }

        if (tier_max_imports(c, &l->slot, &v)) {
                lane_end_worker(l, v.cause, v.reason, v.rss_kib, v.limit_kib, NULL);
                return;
        }

        k = lane_send_header(l, j);
        if (k < 0) {
                lh_error_set(&e, "internal_error", false, "Out of memory.");
                lane_end_current(l, &e, true);
        }
}

/* ---- worker callbacks -------------------------------------------------------- */

static void project_on_ready(LhWorker *w, void *userdata) {
        LhLane *l = userdata;
        LhProject *p = l->project;

        if (!worker_slot_ready(&l->slot, w))
                return;
        log_debug("Project %s: worker %" PRIu64 " ready (%s%s%s).", p->root, l->slot.generation,
                  enforcement_mode_to_string(l->slot.mode), l->slot.scope_unit[0] ? ", " : "", l->slot.scope_unit);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
        project_kick(p);
}

static void project_on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        LhLane *l = userdata;

        if (worker_slot_sample(&l->slot, w, m))
                project_facts_touch(l->project);
}

static void project_on_reply(LhWorker *w, json_object *reply, void *userdata) {
        LhLane *l = userdata;
        LhProject *p = l->project;
        LhJob *j = l->current;
        json_object *command = NULL;
        int r;

        if (w == l->slot.worker && !l->slot.stopping && l->warming) {
                project_timer_disarm(l->timeout_source);
                lane_handle_warm_reply(l, reply);
                return;
        }

        /* late replies (a killed or older worker, a cancelled job) are dropped: a
         * command only ever goes to the live worker, one reply each */
        if (w != l->slot.worker || l->slot.stopping || !j ||
            (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING)) {
                log_debug("Project %s: dropping a reply from worker %" PRIu64 " that nobody waits for.",
                          p->root, worker_get_generation(w));
                return;
        }
        project_timer_disarm(l->timeout_source);

        if (j->phase == JOB_PHASE_IMPORTING) {
                lane_handle_header_reply(l, j, reply);
                return;
        }

        job_ref(j);
        r = j->ops->step ? j->ops->step(j, j->userdata, reply, &command) : 1;
        lane_handle_step(l, j, r, command);
        job_unref(j);
}

static void project_on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib,
                            uint64_t limit_kib, void *userdata) {
        LhLane *l = userdata;
        LhProject *p = l->project;
        LhRegistry *r = p->registry;
        bool was_ready, recorded, allowed = true, in_call;
        RestartEvent ev = {};
        WorkerSlotEnd end;
        LhJob *j;
        LhError e;

        if (!worker_slot_bury(&l->slot, w, &end))
                return;
        was_ready = end.was_ready;
        recorded = end.recorded;
        if (rss_kib == 0)
                rss_kib = end.rss_kib;
        project_timer_disarm(l->timeout_source);
        project_timer_disarm(l->idle_source);
        lane_set_warming(l, false);
        if (!recorded)
                lane_clear_warm(l); /* a crash: no successor of its own */

        j = l->current;
        in_call = j && (j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING ||
                        (j->phase == JOB_PHASE_WAITING && !was_ready));
        if (!recorded) {
                lane_record_event(l, cause, reason, rss_kib, limit_kib, &ev);
                /* the retry of a job is charged once, with its first crash */
                if (!(in_call && j->retry_count > 0))
                        allowed = project_count_abnormal(p, cause, rss_kib, limit_kib);
        }

        admission_release_slot(&r->admission, &l->ticket);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);

        if (!recorded && in_call) {
                /* for the caller's smoke accounting: did the job's own command run? */
                const char *failed_during = j->phase == JOB_PHASE_IMPORTING ? "import_header" :
                                            j->phase == JOB_PHASE_RUNNING ? "command" : "startup";

                job_note_restart(j, &ev, true);

                if (!allowed) {
                        restart_policy_unavailable_error(&p->restarts, &e);
                        lane_end_current(l, &e, false);
                        return;
                }
                if (restart_policy_may_retry(j->flags, j->retry_count, cause)) {
                        log_info("Project %s: worker %" PRIu64 " died during a read-only call (%s), retrying it once.",
                                 p->root, ev.worker_generation, strna(restart_cause_to_string(cause)));
                        project_timer_disarm(l->timeout_source);
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
                lane_end_current(l, &e, false);
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


/* ---- the lane object and the project's verbs on it ---------------------------- */

/* The daemon stops: the job was answered by the caller; the worker goes now. */
void lane_shutdown(LhLane *l, const LhError *e) {
        LhJob *j = l->current;
        RestartEvent ev;

        project_timer_disarm(l->timeout_source);
        project_timer_disarm(l->idle_source);
        lane_clear_warm(l);
        if (j) {
                l->current = NULL;
                lane_finish_job(l, j, e);
        }
        admission_withdraw(&l->ticket);
        if (l->slot.worker && !l->slot.stop_recorded)
                lane_record_event(l, RESTART_CAUSE_SHUTDOWN, "daemon shutting down", l->slot.rss_kib, 0, &ev);
        /* kills and reaps synchronously: no orphans, no on_dead */
        worker_slot_done(&l->slot);
        admission_release_slot(&l->project->registry->admission, &l->ticket);
}

void lane_restart_worker(LhLane *l) {
        if (!l->slot.worker || l->slot.stopping)
                return; /* nothing to restart: the next call starts a fresh worker anyway */
        if (l->current) {
                /* not under a running call: right after it */
                l->restart_requested = true;
                return;
        }
        lane_end_worker(l, RESTART_CAUSE_EXPLICIT, "restart requested by the operator", l->slot.anon_kib, 0, NULL);
}

void lane_stop_worker(LhLane *l) {
        LhError e;

        l->restart_requested = false;
        lane_clear_warm(l);
        if (l->slot.worker && !l->slot.stopping)
                lane_end_worker(l, RESTART_CAUSE_SHUTDOWN, "stopped by the operator", l->slot.anon_kib, 0, NULL);
        if (l->current) {
                lh_error_set(&e, "cancelled", true, "The worker of %s was stopped by the operator.", l->project->root);
                lane_end_current(l, &e, false);
        }
}

void lane_cancel_job(LhLane *l, const LhError *err) {
        LhJob *j = l->current;
        RestartEvent ev;
        LhError e = *err;

        assert(j);
        if ((j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING) && l->slot.worker && !l->slot.stopping) {
                /* the worker is inside the command: the only way out is to kill it */
                lane_end_worker(l, RESTART_CAUSE_CANCELLED, "the running call was cancelled", l->slot.rss_kib, 0, &ev);
                job_note_restart(j, &ev, false);
                e.restart_cause = RESTART_CAUSE_CANCELLED;
        }
        lane_end_current(l, &e, false);
}
