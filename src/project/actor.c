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
 * Project: idle ⇄ starting ⇄ busy; cooling_down; stopped. */

#include <assert.h>
#include <limits.h>
#include <stdio.h>

#include "basic/hash.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "lean/header.h"
#include "lean/readiness.h"
#include "project/project-internal.h"
#include "project/restart-policy.h"

#define CONFIG(p) ((p)->registry->config)

static void project_on_ready(LhWorker *w, void *userdata);
static void project_on_reply(LhWorker *w, json_object *reply, void *userdata);
static void project_on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib,
                            uint64_t limit_kib, void *userdata);
static void project_on_sample(LhWorker *w, const WorkerMemory *m, void *userdata);

static const WorkerCallbacks project_worker_callbacks = {
        .on_ready = project_on_ready,
        .on_reply = project_on_reply,
        .on_dead = project_on_dead,
        .on_sample = project_on_sample,
};

/* ---- small helpers -------------------------------------------------------- */

void project_notify(LhProject *p, ProjectChange what) {
        LhRegistry *r = p->registry;

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

static void timer_disarm(sd_event_source *s) {
        if (s)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static int timer_arm(LhProject *p, sd_event_source **s, usec_t after, sd_event_time_handler_t handler) {
        usec_t when = now_usec(CLOCK_MONOTONIC) + after;
        int r;

        if (*s) {
                r = sd_event_source_set_time(*s, when);
                if (r >= 0)
                        r = sd_event_source_set_enabled(*s, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time(p->registry->event, s, CLOCK_MONOTONIC, when, USEC_PER_MSEC, handler, p);
        if (r < 0)
                log_error_errno(r, "Failed to arm a timer for %s: %m", p->root);
        return r;
}

/* for restart-policy.c */
int project_timer_arm(LhProject *p, sd_event_source **s, usec_t after, sd_event_time_handler_t handler) {
        return timer_arm(p, s, after, handler);
}

void project_timer_disarm(sd_event_source *s) {
        timer_disarm(s);
}

static void project_clear_profiles(LhProject *p) {
        for (size_t i = 0; i < p->n_profiles; i++)
                free(p->profiles[i].fingerprint);
        p->profiles = mfree(p->profiles);
        p->n_profiles = 0;
}

static const ImportProfile *project_find_profile(const LhProject *p, const char *fingerprint) {
        for (size_t i = 0; i < p->n_profiles; i++)
                if (streq(p->profiles[i].fingerprint, fingerprint))
                        return p->profiles + i;
        return NULL;
}

static int project_add_profile(LhProject *p, const char *fingerprint, int env) {
        ImportProfile *a;
        char *f;

        f = strdup(fingerprint);
        if (!f)
                return -ENOMEM;
        a = realloc(p->profiles, (p->n_profiles + 1) * sizeof(ImportProfile));
        if (!a) {
                free(f);
                return -ENOMEM;
        }
        p->profiles = a;
        p->profiles[p->n_profiles++] = (ImportProfile) { .fingerprint = f, .env = env };
        return 0;
}

/* all: also workers whose descendants are still being reaped (freeing
 * those waits a bounded while: only at shutdown) */
static void project_free_graveyard(LhProject *p, bool all) {
        size_t k = 0;

        for (size_t i = 0; i < p->n_graveyard; i++) {
                if (all || worker_is_gone(p->graveyard[i]))
                        worker_free(p->graveyard[i]);
                else
                        p->graveyard[k++] = p->graveyard[i];
        }
        p->n_graveyard = k;
        if (k == 0)
                p->graveyard = mfree(p->graveyard);
}

/* ---- worker lifecycle ------------------------------------------------------ */

/* The REPL the readiness check finds for this project (a dependency's
 * build, lean-host's own build for the pin, or `repl` on PATH), run under
 * the pinned toolchain's lake by absolute path (`<lake> env <repl>`) so it
 * sees the project's search path. Found off the loop by the readiness check
 * before the call (tools); nothing is read here: the event loop must not
 * wait for a file system. Plain `lake env repl` when none was found (the
 * call then fails with the readiness error before getting here). */
int project_default_worker_argv(const LhProject *p, char ***ret) {
        char **l;

        l = strv_copy(p->default_argv ?: (char *[]) { (char *) "lake", (char *) "env", (char *) "repl", NULL });
        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

static int project_spawn_worker(LhProject *p) {
        LhRegistry *r = p->registry;
        const LhConfig *c = CONFIG(p);
        _cleanup_strv_free_ char **argv_default = NULL;
        char **argv = c->worker_command;
        ScopePlacer *placer = NULL;
        bool require_scope = false;
        LhWorker *w = NULL;
        int k;

        if (strv_isempty(argv)) {
                k = project_default_worker_argv(p, &argv_default);
                if (k < 0)
                        return k;
                argv = argv_default;
        }

        switch (c->enforcement) {
        case ENFORCEMENT_SCOPE:
                placer = r->placer;
                require_scope = true;
                break;
        case ENFORCEMENT_PROCESS:
                break;
        default:
                placer = r->placer;
        }

        WorkerSpec spec = {
                .argv = argv,
                .cwd = p->root,
                .project_id = p->id,
                .description = p->description,
                .generation = p->generation + 1,
                .memory_high_kib = c->worker_rss_post_job_restart_kib,
                .memory_max_kib = c->worker_rss_hard_kill_kib,
                .sample_interval = c->worker_rss_sample_millis * USEC_PER_MSEC,
                .stderr_max_bytes = c->worker_stderr_max_bytes,
                .max_reply_bytes = c->worker_max_reply_bytes,
                .slice = c->slice,
                .sandbox = c->sandbox,
        };

        k = worker_start(&w, r->event, placer, require_scope, &spec, &project_worker_callbacks, p);
        if (k < 0)
                return k;

        p->generation++;
        p->worker = w;
        p->worker_ready = false;
        p->worker_stopping = false;
        p->stop_recorded = false;
        p->requests_served = 0;
        p->rss_kib = p->anon_kib = p->tier_kib = 0;
        p->memory = (WorkerMemory) {};
        p->scope_unit[0] = 0;
        p->mode = placer ? registry_get_enforcement(r) : ENFORCEMENT_MODE_PROCESS;
        project_clear_profiles(p);
        log_debug("Project %s: worker %" PRIu64 " starting (pid %d).", p->root, p->generation,
                  (int) worker_get_pid(w));
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
        return 0;
}

/* Planned end (graceful): the event is recorded now; on_dead only cleans up. */
static void project_recycle_worker(LhProject *p, RestartCause cause, const char *reason, uint64_t rss_kib,
                                   uint64_t limit_kib, RestartEvent *ret) {
        assert(p->worker && !p->worker_stopping);

        project_record_event(p, cause, reason, rss_kib, limit_kib, ret);
        p->worker_stopping = true;
        p->stop_recorded = true;
        timer_disarm(p->idle_source);
        timer_disarm(p->timeout_source);
        worker_stop(p->worker, cause, reason);
        project_notify(p, PROJECT_CHANGE_WORKER);
}

/* End asked by us (timeout: abnormal, counted now; cancel: planned, never counted). */
static void project_kill_worker(LhProject *p, RestartCause cause, const char *reason, RestartEvent *ret) {
        uint64_t rss = p->rss_kib;

        assert(p->worker && !p->worker_stopping);

        project_record_event(p, cause, reason, rss, 0, ret);
        p->worker_stopping = true;
        p->stop_recorded = true;
        timer_disarm(p->idle_source);
        timer_disarm(p->timeout_source);
        worker_kill(p->worker, cause, reason);
        (void) project_count_abnormal(p, cause, rss, 0);
        project_notify(p, PROJECT_CHANGE_WORKER);
}

static int on_idle_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        char reason[128];

        if (!project_is_evictable(p))
                return 0;
        snprintf(reason, sizeof reason, "idle for %" PRIu64 " s", CONFIG(p)->worker_idle_secs);
        project_recycle_worker(p, RESTART_CAUSE_IDLE, reason, p->anon_kib, 0, NULL);
        return 0;
}

bool project_is_evictable(const LhProject *p) {
        /* not a worker the worker layer is already ending (its on_dead tells why) */
        return p->worker && p->worker_ready && !p->worker_stopping && worker_get_state(p->worker) < WORKER_STOPPING &&
                !p->current && !p->queue_head && !p->registry->shutting_down;
}

void project_evict(LhProject *p) {
        if (!project_is_evictable(p))
                return;
        /* as the reference: giving the slot to another project is an idle stop */
        project_recycle_worker(p, RESTART_CAUSE_IDLE, "evicted: least recently used idle worker, slot needed by another project",
                               p->anon_kib, 0, NULL);
}

/* ---- jobs ------------------------------------------------------------------ */

static void project_fail_current(LhProject *p, const LhError *err) {
        LhJob *j = p->current;

        assert(j);
        timer_disarm(p->timeout_source);
        p->current = NULL;
        registry_withdraw(p->registry, p);
        job_finish(j, err);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

/* Planned recycles after a job; they go into the call's facts when the
 * reference does so (post-job). */
static void project_after_job(LhProject *p, LhJob *j) {
        const LhConfig *c = CONFIG(p);
        char reason[256];

        p->last_used = now_usec(CLOCK_MONOTONIC);
        if (!p->worker || p->worker_stopping)
                return;
        p->requests_served++;
        /* the tiers below judge the memory the job left behind, not an older sample */
        (void) worker_sample_now(p->worker);
        if (!p->worker || p->worker_stopping)
                return;

        if (p->restart_requested) {
                p->restart_requested = false;
                project_recycle_worker(p, RESTART_CAUSE_EXPLICIT, "restart requested by the operator",
                                       p->anon_kib, 0, NULL);
        } else if (c->worker_rss_post_job_restart_kib > 0 && p->tier_kib >= c->worker_rss_post_job_restart_kib) {
                snprintf(reason, sizeof reason, "rss_post_job current_kib=%" PRIu64 " limit_kib=%" PRIu64,
                         p->tier_kib, c->worker_rss_post_job_restart_kib);
                project_recycle_worker(p, RESTART_CAUSE_RSS_POST_JOB, reason, p->tier_kib,
                                       c->worker_rss_post_job_restart_kib, &j->call_restart);
                j->worker_restarted = true;
        } else if (c->worker_max_requests > 0 && p->requests_served >= c->worker_max_requests) {
                snprintf(reason, sizeof reason, "max_requests served=%" PRIu64 " limit=%" PRIu64,
                         p->requests_served, c->worker_max_requests);
                project_recycle_worker(p, RESTART_CAUSE_MAX_REQUESTS, reason, p->anon_kib, 0, NULL);
        }
}

/* The current job finished while its worker lives (success or a job error). */
static void project_complete_current(LhProject *p, const LhError *err) {
        LhJob *j = p->current;

        assert(j);
        timer_disarm(p->timeout_source);
        p->current = NULL;
        project_after_job(p, j);
        job_finish(j, err);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
}

static int on_request_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        LhProject *p = userdata;
        LhJob *j = p->current;
        uint64_t ms = CONFIG(p)->request_timeout_millis;
        RestartEvent ev;
        char reason[128];
        LhError e;

        if (!j || (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING) ||
            !p->worker || p->worker_stopping)
                return 0;

        snprintf(reason, sizeof reason, "no reply within %" PRIu64 " ms", ms);
        project_kill_worker(p, RESTART_CAUSE_TIMEOUT, reason, &ev);
        j->call_restart = ev;
        lh_error_set(&e, "timeout", true,
                     "No reply from the worker of %s within %" PRIu64 " ms; the worker (generation %" PRIu64 ") was killed.",
                     p->root, ms, ev.worker_generation);
        e.restart_cause = RESTART_CAUSE_TIMEOUT;
        e.rss_kib = ev.rss_kib;
        project_fail_current(p, &e);
        return 0;
}

static void project_send(LhProject *p, LhJob *j, json_object *command) {
        LhError e;
        int k;

        /* A file-mode command names a file the daemon never reads: the same
         * command is another input once the file is edited, so it is no
         * poison-input identity (the restart window still bounds a crash loop). */
        j->command_hashed = j->phase == JOB_PHASE_RUNNING && !(j->flags & JOB_OWN_IMPORTS);
        if (j->command_hashed) {
                j->command_hash = restart_policy_command_hash(j->fingerprint, command);
                if (project_poison_contains(p, j->command_hash)) {
                        json_object_put(command);
                        lh_error_set(&e, "poison_input", false,
                                     "This input crashed the worker of %s twice; it is not run again "
                                     "(an operator's `lean-hostctl restart` forgets it).", p->root);
                        project_fail_current(p, &e);
                        return;
                }
        }
        j->generation = p->generation;
        k = worker_send(p->worker, command);
        json_object_put(command);
        if (k < 0) {
                lh_error_set(&e, "worker_failed", true, "Could not send the command to the worker of %s: %s",
                             p->root, strerror(-k));
                project_complete_current(p, &e);
                return;
        }
        (void) timer_arm(p, &p->timeout_source, CONFIG(p)->request_timeout_millis * USEC_PER_MSEC, on_request_timeout);
}

/* After start()/step(): r == 0 send *command, 1 finished, < 0 error. */
static void project_handle_step(LhProject *p, LhJob *j, int r, json_object *command) {
        LhError e;

        if (p->current != j || j->phase != JOB_PHASE_RUNNING || !p->worker || p->worker_stopping) {
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
                project_complete_current(p, NULL);
                return;
        }
        if (r == 0)
                lh_error_set(&e, "internal_error", false, "The job produced no command.");
        else if (!j->has_error)
                lh_error_set(&e, "internal_error", false, "The job failed: %s", strerror(-r));
        project_complete_current(p, r == 0 || !j->has_error ? &e : NULL);
}

static void project_start_job(LhProject *p, LhJob *j) {
        json_object *command = NULL;
        int r;

        j->phase = JOB_PHASE_RUNNING;
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
        _cleanup_free_ char *text = NULL;
        json_object *command;

        text = lean_header_command(j->imports);
        if (!text)
                return -ENOMEM;
        command = json_object_new_object();
        if (!command)
                return -ENOMEM;
        if (json_object_object_add(command, "cmd", json_object_new_string(text)) < 0) {
                json_object_put(command);
                return -ENOMEM;
        }
        j->phase = JOB_PHASE_IMPORTING;
        project_send(p, j, command);
        return 0;
}

/* The header's reply: its env, or import_failed with the error messages. */
static void project_handle_header_reply(LhProject *p, LhJob *j, json_object *reply) {
        _cleanup_(lh_error_done) LhError e = {};
        json_object *messages, *v, *errors = NULL;
        const char *first = NULL;
        int env = -1;

        if (json_object_object_get_ex(reply, "messages", &messages) &&
            json_object_is_type(messages, json_type_array)) {
                size_t n = json_object_array_length(messages);

                for (size_t i = 0; i < n; i++) {
                        json_object *m = json_object_array_get_idx(messages, i), *sev, *data;

                        if (!json_object_object_get_ex(m, "severity", &sev) ||
                            !streq(strempty(json_object_get_string(sev)), "error"))
                                continue;
                        if (!errors)
                                errors = json_object_new_array();
                        if (errors)
                                json_object_array_add(errors, json_object_get(m));
                        if (!first && json_object_object_get_ex(m, "data", &data))
                                first = json_object_get_string(data);
                }
        }
        if (!errors && json_object_object_get_ex(reply, "env", &v) && json_object_is_type(v, json_type_int))
                env = json_object_get_int(v);

        if (errors || env < 0) {
                if (!first && json_object_object_get_ex(reply, "message", &v))
                        first = json_object_get_string(v);
                lh_error_set(&e, "import_failed", false, "Importing %s failed: %s",
                             isempty(j->fingerprint) ? "the prelude" : j->fingerprint,
                             first ?: "the worker returned no environment");
                e.details = json_object_new_object();
                if (e.details)
                        json_object_object_add(e.details, "messages",
                                               errors ? json_object_get(errors) : json_object_new_array());
                json_object_put(errors);
                project_complete_current(p, &e);
                return;
        }

        if (project_add_profile(p, j->fingerprint, env) < 0)
                log_oom(); /* the env is still used for this job, only not remembered */
        j->base_env = env;
        project_start_job(p, j);
}

/* ---- the kick: advance the current job as far as possible ------------------ */

static void project_went_idle(LhProject *p) {
        LhRegistry *r = p->registry;

        registry_withdraw(r, p);
        if (!p->worker && p->holds_slot)
                registry_release_slot(r, p);
        if (project_is_evictable(p)) {
                if (CONFIG(p)->worker_idle_secs > 0)
                        (void) timer_arm(p, &p->idle_source, CONFIG(p)->worker_idle_secs * USEC_PER_SEC,
                                         on_idle_timeout);
                registry_admission_poke(r);
        }
}

static void project_dispatch(LhProject *p) {
        LhRegistry *r = p->registry;
        const LhConfig *c = CONFIG(p);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        char reason[256];
        LhError e;
        LhJob *j;
        int k;

        project_free_graveyard(p, false);
        if (r->shutting_down)
                return;

        if (project_check_cooling(p)) {
                /* fail fast, one at a time: done() may change the queue */
                if (p->current) {
                        /* a command in flight finishes; one still waiting fails */
                        if (p->current->phase == JOB_PHASE_WAITING) {
                                project_unavailable_error(p, &e);
                                project_fail_current(p, &e);
                        }
                        return;
                }
                j = p->queue_head;
                if (j) {
                        job_queue_remove(p, j);
                        project_unavailable_error(p, &e);
                        job_finish(j, &e);
                        project_notify(p, PROJECT_CHANGE_STATE);
                        project_kick(p);
                } else
                        project_went_idle(p);
                return;
        }

        if (!p->current) {
                j = p->queue_head;
                if (!j) {
                        project_went_idle(p);
                        return;
                }
                job_queue_remove(p, j);
                p->current = j;
                j->phase = JOB_PHASE_WAITING;
                j->started_at = j->admission_started = now;
                p->stopped = false;
                timer_disarm(p->idle_source);
                project_notify(p, PROJECT_CHANGE_STATE);
        }

        j = p->current;
        if (j->phase != JOB_PHASE_WAITING)
                return; /* a command is outstanding */

        /* a worker on its way down must be gone before anything else; the
         * worker layer may have killed it on its own (a protocol violation):
         * its on_dead follows, the job waits for the next worker */
        if (p->worker && (p->worker_stopping || worker_get_state(p->worker) >= WORKER_STOPPING))
                return;

        if ((j->flags & JOB_HEAVY) && !j->has_permit) {
                if (!registry_acquire_heavy(r, p))
                        return;
                j->has_permit = true;
        }

        if (!p->worker) {
                if (!registry_acquire_slot(r, p))
                        return;
                if (!j->admitted) {
                        j->admitted = true;
                        j->admission_wait = now - j->admission_started;
                }
                k = project_spawn_worker(p);
                if (k < 0) {
                        registry_release_slot(r, p);
                        lh_error_set(&e, "worker_failed", k != -EOPNOTSUPP,
                                     "Could not start a worker for %s: %s%s", p->root, strerror(-k),
                                     k == -EOPNOTSUPP ? " (enforcement \"scope\" needs a user manager with a memory controller)" : "");
                        log_warning_errno(k, "Project %s: could not start a worker: %m", p->root);
                        project_fail_current(p, &e);
                }
                return; /* on_ready kicks */
        }
        if (!j->admitted) {
                j->admitted = true;
                j->admission_wait = now - j->admission_started;
        }
        if (!p->worker_ready)
                return;
        if (j->flags & JOB_OWN_IMPORTS) {
                j->base_env = -1;
                project_start_job(p, j);
                return;
        }

        /* import-switch tier: other imports than last time, and the worker is big */
        if (!j->switch_checked) {
                j->switch_checked = true;
                if (p->active_profile && !streq(p->active_profile, j->fingerprint)) {
                        (void) worker_sample_now(p->worker);
                        p->profile_switch_count++;
                        project_notify(p, PROJECT_CHANGE_WORKER);
                        if (c->import_switch_rss_soft_kib > 0 && p->tier_kib >= c->import_switch_rss_soft_kib) {
                                snprintf(reason, sizeof reason,
                                         "rss_import_switch current_kib=%" PRIu64 " limit_kib=%" PRIu64,
                                         p->tier_kib, c->import_switch_rss_soft_kib);
                                project_recycle_worker(p, RESTART_CAUSE_RSS_IMPORT_SWITCH, reason, p->tier_kib,
                                                       c->import_switch_rss_soft_kib, &j->call_restart);
                                j->worker_restarted = true;
                                return; /* on_dead kicks */
                        }
                }
        }

        const ImportProfile *prof = project_find_profile(p, j->fingerprint);
        if (prof) {
                j->base_env = prof->env;
                project_start_job(p, j);
                return;
        }

        if (c->worker_max_imports > 0 && p->n_profiles >= c->worker_max_imports) {
                snprintf(reason, sizeof reason, "max_imports profiles=%zu limit=%" PRIu64,
                         p->n_profiles, c->worker_max_imports);
                project_recycle_worker(p, RESTART_CAUSE_MAX_IMPORTS, reason, p->anon_kib, 0, NULL);
                return;
        }

        k = project_send_header(p, j);
        if (k < 0) {
                lh_error_set(&e, "internal_error", false, "Out of memory.");
                project_complete_current(p, &e);
        }
}

static int on_kick(sd_event_source *s, void *userdata) {
        project_dispatch(userdata);
        return 0;
}

/* ---- worker callbacks -------------------------------------------------------- */

static void project_on_ready(LhWorker *w, void *userdata) {
        LhProject *p = userdata;
        const char *unit;

        if (w != p->worker || p->worker_stopping)
                return;
        p->worker_ready = true;
        p->mode = worker_get_mode(w);
        unit = worker_get_unit(w);
        snprintf(p->scope_unit, sizeof p->scope_unit, "%s", strempty(unit));
        log_debug("Project %s: worker %" PRIu64 " ready (%s%s%s).", p->root, p->generation,
                  enforcement_mode_to_string(p->mode), unit ? ", " : "", strempty(unit));
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);
        project_kick(p);
}

static void project_on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        LhProject *p = userdata;

        if (w != p->worker || !m || !m->valid)
                return;
        p->rss_kib = m->rss_kib;
        p->anon_kib = m->anon_kib;
        p->tier_kib = worker_memory_tier_kib(m);
        p->memory = *m;
}

static void project_on_reply(LhWorker *w, json_object *reply, void *userdata) {
        LhProject *p = userdata;
        LhJob *j = p->current;
        json_object *command = NULL;
        int r;

        /* late replies (a killed worker, an old generation, a cancelled job) are dropped */
        if (w != p->worker || p->worker_stopping || !j ||
            (j->phase != JOB_PHASE_IMPORTING && j->phase != JOB_PHASE_RUNNING) ||
            j->generation != worker_get_generation(w)) {
                log_debug("Project %s: dropping a reply from worker %" PRIu64 " that nobody waits for.",
                          p->root, worker_get_generation(w));
                return;
        }
        timer_disarm(p->timeout_source);

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
        bool was_ready = p->worker_ready, recorded = p->stop_recorded, allowed = true, in_call;
        RestartEvent ev = {};
        LhWorker **g;
        LhJob *j;
        LhError e;

        if (w != p->worker)
                return;

        /* freed from the kick, never inside its own callback */
        g = realloc(p->graveyard, (p->n_graveyard + 1) * sizeof(LhWorker *));
        if (g) {
                p->graveyard = g;
                p->graveyard[p->n_graveyard++] = w;
        } else
                log_oom(); /* leaks one dead worker rather than freeing it under its own feet */

        if (rss_kib == 0)
                rss_kib = p->rss_kib;
        p->worker = NULL;
        p->worker_ready = false;
        p->worker_stopping = false;
        p->stop_recorded = false;
        p->rss_kib = p->anon_kib = p->tier_kib = 0;
        p->memory = (WorkerMemory) {};
        project_clear_profiles(p);
        timer_disarm(p->timeout_source);
        timer_disarm(p->idle_source);

        j = p->current;
        in_call = j && (j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING ||
                        (j->phase == JOB_PHASE_WAITING && !was_ready));
        if (!recorded) {
                project_record_event(p, cause, reason, rss_kib, limit_kib, &ev);
                /* the retry of a job is charged once, with its first crash */
                if (!(in_call && j->retry_count > 0))
                        allowed = project_count_abnormal(p, cause, rss_kib, limit_kib);
        }

        registry_release_slot(r, p);
        project_notify(p, PROJECT_CHANGE_WORKER | PROJECT_CHANGE_STATE);

        if (!recorded && in_call) {
                /* for the caller's smoke accounting: did the job's own command run? */
                const char *failed_during = j->phase == JOB_PHASE_IMPORTING ? "import_header" :
                                            j->phase == JOB_PHASE_RUNNING ? "command" : "startup";

                j->call_restart = ev;
                j->worker_restarted = true;

                if (!allowed) {
                        project_unavailable_error(p, &e);
                        project_fail_current(p, &e);
                        return;
                }
                if (restart_policy_may_retry(j->flags, j->retry_count, cause)) {
                        log_info("Project %s: worker %" PRIu64 " died during a read-only call (%s), retrying it once.",
                                 p->root, ev.worker_generation, strna(restart_cause_to_string(cause)));
                        timer_disarm(p->timeout_source);
                        j->retry_count++;
                        j->phase = JOB_PHASE_WAITING;
                        j->base_env = -1;
                        json_object_put(j->result);
                        j->result = NULL;
                        lh_error_done(&j->error);
                        j->has_error = false;
                        project_kick(p);
                        return;
                }

                if (j->retry_count > 0 && j->phase == JOB_PHASE_RUNNING && j->command_hashed &&
                    restart_cause_counts_toward_limit(cause) && cause != RESTART_CAUSE_RSS_HARD_LIMIT) {
                        /* the same command crashed two workers: the input, not the worker */
                        project_poison_add(p, j->command_hash);
                        lh_error_set(&e, "poison_input", false,
                                     "This input crashed the worker of %s twice (%s%s%s); it is not run again.",
                                     p->root, strna(restart_cause_to_string(cause)), isempty(reason) ? "" : ": ",
                                     strempty(reason));
                } else if (!restart_policy_input_error(p, cause, reason, &e))
                        lh_error_set(&e, "worker_failed", cause != RESTART_CAUSE_RSS_HARD_LIMIT,
                                     "The worker of %s ended during the call (%s%s%s)%s.", p->root,
                                     strna(restart_cause_to_string(cause)), isempty(reason) ? "" : ": ",
                                     strempty(reason), j->retry_count > 0 ? ", also on the retry" : "");
                e.restart_cause = cause;
                e.rss_kib = rss_kib;
                e.limit_kib = limit_kib;
                e.details = json_object_new_object();
                if (e.details)
                        (void) json_object_object_add(e.details, "failed_during",
                                                      json_object_new_string(failed_during));
                project_fail_current(p, &e);
                lh_error_done(&e);
                return;
        }

        project_kick(p);
}

/* ---- project object ---------------------------------------------------------- */

int project_new(LhProject **ret, LhRegistry *r, const char *root) {
        const LhConfig *c = r->config;
        LhProject *p;
        int k;

        p = new0(LhProject, 1);
        if (!p)
                return -ENOMEM;
        p->registry = r;
        p->cooling_cause = _RESTART_CAUSE_INVALID;
        p->mode = registry_get_enforcement(r);
        p->root = strdup(root);
        if (!p->root) {
                free(p);
                return -ENOMEM;
        }
        hash_to_hex16(hash_string(p->root), p->id);
        snprintf(p->description, sizeof p->description, "Lean worker for %s", p->root);

        k = restart_window_init(&p->window, (unsigned) MIN(c->restart_limit, (uint64_t) 1024),
                                c->restart_window_secs * USEC_PER_SEC);
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
        assert(!p->current && !p->queue_head);
        p->worker = worker_free(p->worker);
        project_free_graveyard(p, true);
        project_clear_profiles(p);
        sd_event_source_disable_unref(p->kick_source);
        sd_event_source_disable_unref(p->timeout_source);
        sd_event_source_disable_unref(p->idle_source);
        sd_event_source_disable_unref(p->cooldown_source);
        restart_window_done(&p->window);
        free(p->active_profile);
        free(p->root);
        return mfree(p);
}

void project_shutdown(LhProject *p) {
        LhRegistry *r = p->registry;
        RestartEvent ev;
        LhError e;
        LhJob *j;

        timer_disarm(p->timeout_source);
        timer_disarm(p->idle_source);
        timer_disarm(p->cooldown_source);
        timer_disarm(p->kick_source);

        lh_error_set(&e, "shutting_down", true, "The daemon is shutting down; call again once it is back.");
        /* one at a time from the head: done() may cancel others (submits are refused now) */
        while ((j = p->queue_head)) {
                job_queue_remove(p, j);
                job_finish(j, &e);
        }
        if ((j = p->current)) {
                p->current = NULL;
                job_finish(j, &e);
        }
        registry_withdraw(r, p);

        if (p->worker) {
                if (!p->stop_recorded)
                        project_record_event(p, RESTART_CAUSE_SHUTDOWN, "daemon shutting down", p->rss_kib, 0, &ev);
                /* kills and reaps synchronously: no orphans, no on_dead */
                p->worker = worker_free(p->worker);
        }
        p->worker_ready = p->worker_stopping = p->stop_recorded = false;
        project_free_graveyard(p, true);
        project_clear_profiles(p);
        registry_release_slot(r, p);
        p->stopped = true;
        project_notify(p, PROJECT_CHANGE_STATE | PROJECT_CHANGE_WORKER);
}

bool project_is_quiet(const LhProject *p) {
        return !p->current && !p->queue_head && !p->worker;
}

/* ---- public API ----------------------------------------------------------------- */

const char *project_get_root(const LhProject *p) {
        return p->root;
}

const char *project_get_id(const LhProject *p) {
        return p->id;
}

const LhConfig *project_get_config(const LhProject *p) {
        return CONFIG(p);
}

unsigned project_get_queue_depth(const LhProject *p) {
        return p->n_queued + (p->current ? 1 : 0);
}

ProjectState project_get_state(const LhProject *p) {
        if (p->cooling_down)
                return PROJECT_COOLING_DOWN;
        if (p->current)
                return p->current->phase == JOB_PHASE_RUNNING ? PROJECT_BUSY : PROJECT_STARTING;
        if (p->queue_head)
                return PROJECT_STARTING;
        if (p->stopped)
                return PROJECT_STOPPED;
        return PROJECT_IDLE;
}

void project_get_facts(const LhProject *p, LhFacts *ret) {
        const LhConfig *c = CONFIG(p);

        *ret = (LhFacts) {
                .state = project_get_state(p),
                .worker_generation = p->generation,
                .worker_pid = p->worker ? worker_get_pid(p->worker) : 0,
                .enforcement = p->mode,
                .sandbox = c->sandbox,
                .last_restart = p->last_restart,
                .rss_kib = p->rss_kib,
                .anon_kib = p->anon_kib,
                .swap_valid = p->memory.swap_valid,
                .swap_kib = p->memory.swap_kib,
                .events_valid = p->memory.events_valid,
                .memory_events_high = p->memory.events_high,
                .memory_events_max = p->memory.events_max,
                .memory_events_oom_kill = p->memory.events_oom_kill,
                .pressure_valid = p->memory.pressure_valid,
                .memory_pressure_some_avg10 = p->memory.pressure_some_avg10,
                .memory_pressure_full_avg10 = p->memory.pressure_full_avg10,
                .memory_high_kib = c->worker_rss_post_job_restart_kib,
                .memory_max_kib = c->worker_rss_hard_kill_kib,
                .profile_switch_count = p->profile_switch_count,
                .restarts_total = p->restarts_total,
                .restarts_in_window = restart_window_count_const(&p->window, now_usec(CLOCK_MONOTONIC)),
                .queue_depth = project_get_queue_depth(p),
                .requests_served = p->requests_served,
        };
        if (p->worker)
                snprintf(ret->scope_unit, sizeof ret->scope_unit, "%s", p->scope_unit);
        snprintf(ret->import_profile, sizeof ret->import_profile, "%s", strempty(p->active_profile));
        memcpy(ret->restarts_by_cause, p->restarts_by_cause, sizeof ret->restarts_by_cause);
}

int project_restart_worker(LhProject *p) {
        if (p->registry->shutting_down)
                return -ESHUTDOWN;
        project_reset_restart_policy(p);
        project_kick(p);
        if (!p->worker || p->worker_stopping)
                return 0; /* nothing to restart: the next call starts a fresh worker anyway */
        if (p->current) {
                /* not under a running call: right after it */
                p->restart_requested = true;
                return 0;
        }
        project_recycle_worker(p, RESTART_CAUSE_EXPLICIT, "restart requested by the operator", p->anon_kib, 0, NULL);
        return 0;
}

int project_stop_worker(LhProject *p) {
        LhError e;

        if (p->registry->shutting_down)
                return -ESHUTDOWN;

        p->stopped = true;
        p->restart_requested = false;
        project_reset_restart_policy(p);
        if (p->worker && !p->worker_stopping)
                project_recycle_worker(p, RESTART_CAUSE_SHUTDOWN, "stopped by the operator", p->anon_kib, 0, NULL);
        if (p->current) {
                lh_error_set(&e, "cancelled", true, "The worker of %s was stopped by the operator.", p->root);
                project_fail_current(p, &e);
        } else
                project_notify(p, PROJECT_CHANGE_STATE);
        return 0;
}

int project_submit(LhProject *p, LhJob *j, LhError *err) {
        LhRegistry *r;
        unsigned depth;

        if (!p || !j)
                return -EINVAL;
        if (j->project || j->phase != JOB_PHASE_NEW)
                return -EBUSY;
        r = p->registry;

        if (r->shutting_down) {
                lh_error_set(err, "shutting_down", true, "The daemon is shutting down; call again once it is back.");
                return -ESHUTDOWN;
        }
        if (project_check_cooling(p)) {
                LhError e;

                project_unavailable_error(p, &e);
                if (err)
                        *err = e;
                return -EAGAIN;
        }
        depth = project_get_queue_depth(p);
        if (depth >= CONFIG(p)->mailbox_capacity) {
                lh_error_set(err, "mailbox_full", true,
                             "The mailbox of %s is full (capacity %" PRIu64 ": %u call%s running or queued); retry shortly.",
                             p->root, CONFIG(p)->mailbox_capacity, depth, depth == 1 ? "" : "s");
                return -EBUSY;
        }

        job_ref(j);
        j->project = p;
        j->phase = JOB_PHASE_QUEUED;
        j->queued_at = now_usec(CLOCK_MONOTONIC);
        job_queue_append(p, j);
        project_notify(p, PROJECT_CHANGE_STATE);
        project_kick(p);
        return 0;
}

void job_cancel(LhJob *j) {
        LhProject *p;
        RestartEvent ev;
        LhError e;

        if (!j || !j->project || j->phase == JOB_PHASE_DONE || j->phase == JOB_PHASE_NEW)
                return;
        p = j->project;

        lh_error_set(&e, "cancelled", false, "The call was cancelled.");

        if (j->phase == JOB_PHASE_QUEUED) {
                job_queue_remove(p, j);
                job_finish(j, &e);
                project_notify(p, PROJECT_CHANGE_STATE);
                return;
        }

        assert(p->current == j);
        if ((j->phase == JOB_PHASE_IMPORTING || j->phase == JOB_PHASE_RUNNING) && p->worker && !p->worker_stopping) {
                /* the worker is inside the command: the only way out is to kill it */
                project_kill_worker(p, RESTART_CAUSE_CANCELLED, "the running call was cancelled", &ev);
                j->call_restart = ev;
                e.restart_cause = RESTART_CAUSE_CANCELLED;
        }
        project_fail_current(p, &e);
}
