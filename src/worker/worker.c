/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One Lean worker: its state machine (worker.h), the orchestration of its
 * start, the dispatch of its replies, when its memory is sampled, and its
 * end (stop, kill, the classification of its death).
 *
 * The layers below never call up: worker-spawn.c forks and execs the child,
 * worker-io.c moves its bytes (REPL codec, stderr to the journal),
 * worker-sample.c reads and judges memory samples, worker-death.c tells
 * why the child died, worker-tree.c keeps its
 * descendants, scope.c places it in a scope (completing through on_placed).
 *
 * Sampling runs only while a command is out (busy): a worker between jobs
 * cannot grow, and the actor samples once at each job's end
 * (worker_sample_now()) for the post-job tier, so an idle worker costs no
 * wake-ups at all. */

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "worker/repl.h"
#include "worker/scope.h"
#include "worker/worker-death.h"
#include "worker/worker-io.h"
#include "worker/worker-sample.h"
#include "worker/worker-spawn.h"
#include "worker/worker-tree.h"
#include "worker/worker.h"

#define WORKER_STOP_TERM_USEC (2 * USEC_PER_SEC)  /* stdin closed → SIGTERM */
#define WORKER_STOP_KILL_USEC (3 * USEC_PER_SEC)  /* SIGTERM → SIGKILL */
#define WORKER_EOF_GRACE_USEC (2 * USEC_PER_SEC)  /* stdout EOF → SIGKILL if still alive */

struct LhWorker {
        unsigned n_ref;
        bool freed;            /* the owner dropped it: no more callbacks */

        sd_event *event;
        ScopePlacer *placer;
        ScopePlacement *placement;
        bool require_scope;

        WorkerState state;
        EnforcementMode mode;
        pid_t pid;
        bool reaped;
        usec_t started;

        uint64_t generation;
        char *project_id;
        char *name;            /* "<project id>/<generation>", for logs */
        char *argv0;
        char *cwd;
        char *unit;

        WorkerIo io;           /* stdio: commands out, replies in */
        WorkerStderr err;
        int gate_fd;           /* write end: one byte releases the child */
        int exec_fd;           /* read end: EOF = exec'd, a status = errno */
        sd_event_source *exec_source, *child_source;
        sd_event_source *sample_timer, *stop_timer, *eof_timer;
        bool term_sent;
        bool protocol_error;

        uint64_t memory_high_kib, memory_max_kib;
        usec_t sample_interval;
        usec_t sample_due;     /* the next sample while busy; kept across a job's commands */
        WorkerSampler sampler;
        WorkerMemory memory;

        /* the first requested end wins over classification of the death */
        bool cause_set;
        RestartCause cause;
        char reason[256];
        uint64_t cause_rss_kib, cause_limit_kib;

        bool dead_reported;

        WorkerTree tree;       /* descendants: killed and reaped with the worker */

        WorkerCallbacks cb;
        void *userdata;
};

static const char *const worker_state_table[_WORKER_STATE_MAX] = {
        [WORKER_SPAWNING] = "spawning",
        [WORKER_PLACING] = "placing",
        [WORKER_READY] = "ready",
        [WORKER_BUSY] = "busy",
        [WORKER_STOPPING] = "stopping",
        [WORKER_DEAD] = "dead",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(worker_state, WorkerState);

static const char *const enforcement_mode_table[_ENFORCEMENT_MODE_MAX] = {
        [ENFORCEMENT_MODE_SCOPE] = "scope",
        [ENFORCEMENT_MODE_PROCESS] = "process",
};

DEFINE_STRING_TABLE_LOOKUP_TO_STRING(enforcement_mode, EnforcementMode);

static void worker_close_io(LhWorker *w) {
        worker_io_close(&w->io);
        worker_stderr_close(&w->err);
        w->exec_source = sd_event_source_disable_unref(w->exec_source);
        w->sample_timer = sd_event_source_disable_unref(w->sample_timer);
        w->stop_timer = sd_event_source_disable_unref(w->stop_timer);
        w->eof_timer = sd_event_source_disable_unref(w->eof_timer);
        w->gate_fd = safe_close(w->gate_fd);
        w->exec_fd = safe_close(w->exec_fd);
}

static LhWorker *worker_destroy(LhWorker *w) {
        worker_close_io(w);
        w->child_source = sd_event_source_disable_unref(w->child_source);
        worker_tree_done(&w->tree);
        if (w->placement)
                scope_placement_cancel(w->placement);
        worker_io_done(&w->io);
        worker_sampler_done(&w->sampler);
        free(w->project_id);
        free(w->name);
        free(w->argv0);
        free(w->cwd);
        free(w->unit);
        sd_event_unref(w->event);
        return mfree(w);
}

static DEFINE_TRIVIAL_REF_FUNC(LhWorker, worker);
static DEFINE_TRIVIAL_UNREF_FUNC(LhWorker, worker, worker_destroy);

/* Kill the whole process group (lake spawns the REPL as its child) and every
 * descendant seen, also those that left the group (setsid). */
static void worker_signal(LhWorker *w, int sig) {
        if (w->pid <= 0 || w->reaped)
                return;
        worker_tree_signal(&w->tree, sig);
}

static void worker_request_end(LhWorker *w, RestartCause cause, const char *reason,
                               uint64_t rss_kib, uint64_t limit_kib) {
        if (w->cause_set)
                return;
        w->cause_set = true;
        w->cause = cause;
        w->cause_rss_kib = rss_kib;
        w->cause_limit_kib = limit_kib;
        snprintf(w->reason, sizeof w->reason, "%s", strempty(reason));
}

void worker_kill(LhWorker *w, RestartCause cause, const char *reason) {
        if (!w || w->state == WORKER_DEAD)
                return;
        worker_request_end(w, cause, reason, 0, 0);
        w->state = WORKER_STOPPING;
        worker_signal(w, SIGKILL);
        if (w->unit && w->placer)
                (void) scope_placer_stop_unit(w->placer, w->unit);
}

static void worker_kill_memory(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib,
                               uint64_t limit_kib) {
        worker_request_end(w, cause, reason, rss_kib, limit_kib);
        worker_kill(w, cause, reason);
}

static int on_stop_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LhWorker *w = userdata;

        (void) s;
        (void) usec;
        if (w->state == WORKER_DEAD)
                return 0;
        if (!w->term_sent) {
                log_debug("Worker %s/%" PRIu64 " still running after stdin was closed, sending SIGTERM.",
                          w->project_id, w->generation);
                w->term_sent = true;
                worker_signal(w, SIGTERM);
                (void) sd_event_source_set_time_relative(w->stop_timer, WORKER_STOP_KILL_USEC);
                (void) sd_event_source_set_enabled(w->stop_timer, SD_EVENT_ONESHOT);
                return 0;
        }
        log_info("Worker %s/%" PRIu64 " ignored SIGTERM, sending SIGKILL.", w->project_id, w->generation);
        worker_signal(w, SIGKILL);
        if (w->unit && w->placer)
                (void) scope_placer_stop_unit(w->placer, w->unit);
        return 0;
}

void worker_stop(LhWorker *w, RestartCause cause, const char *reason) {
        int r;

        if (!w || w->state == WORKER_DEAD || w->state == WORKER_STOPPING)
                return;
        if (w->state == WORKER_SPAWNING || w->state == WORKER_PLACING) {
                /* never exec'd: nothing to wind down gracefully */
                worker_kill(w, cause, reason);
                return;
        }
        worker_request_end(w, cause, reason, 0, 0);
        w->state = WORKER_STOPPING;
        worker_tree_track(&w->tree); /* what it leaves behind when it exits */
        /* The REPL exits on EOF on stdin. */
        if (w->io.fd >= 0)
                (void) shutdown(w->io.fd, SHUT_WR);
        r = sd_event_add_time_relative(w->event, &w->stop_timer, CLOCK_MONOTONIC, WORKER_STOP_TERM_USEC, 0,
                                       on_stop_timer, w);
        if (r < 0) {
                log_warning_errno(r, "Failed to arm the stop timer, killing worker now: %m");
                worker_signal(w, SIGKILL);
        }
}


/* ---- death --------------------------------------------------------------- */

static void worker_classify(LhWorker *w, const siginfo_t *si) {
        WorkerDeath d;

        if (w->cause_set)
                return;
        worker_death_classify(si, w->protocol_error, w->mode, &w->memory, w->memory_max_kib,
                              w->mode == ENFORCEMENT_MODE_SCOPE ? &w->sampler : NULL, &d);
        worker_request_end(w, d.cause, d.reason, d.rss_kib, d.limit_kib);
}

static void worker_report_dead(LhWorker *w) {
        if (w->dead_reported)
                return;
        w->dead_reported = true;
        w->state = WORKER_DEAD;
        worker_close_io(w);
        if (w->unit && w->placer)
                (void) scope_placer_stop_unit(w->placer, w->unit);

        if (w->freed || !w->cb.on_dead)
                return;
        worker_ref(w);
        w->cb.on_dead(w, w->cause, w->reason, w->cause_rss_kib, w->cause_limit_kib, w->userdata);
        worker_unref(w);
}

/* The child's word on exec: 0 exec'd, 1 it failed (cause recorded), -EAGAIN nothing yet. */
static int worker_read_exec_status(LhWorker *w) {
        char reason[256];
        int r;

        r = worker_spawn_read_status(w->exec_fd, w->argv0, w->cwd, reason, sizeof reason);
        if (r == -EAGAIN)
                return r;
        /* the source first: epoll must forget the fd before it is closed */
        w->exec_source = sd_event_source_disable_unref(w->exec_source);
        w->exec_fd = safe_close(w->exec_fd);
        if (r > 0) {
                log_error("Worker %s/%" PRIu64 ": %s", w->project_id, w->generation, reason);
                worker_request_end(w, RESTART_CAUSE_CHILD_EXIT, reason, 0, 0);
        }
        return r;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        LhWorker *w = userdata;

        (void) s;
        /* sd-event reaps the zombie right after this callback, so the pid (and
         * group id) cannot have been reused yet: the group kill reaches only
         * what the REPL left behind. */
        worker_tree_leader_ended(&w->tree);
        w->reaped = true;
        /* SIGCHLD may come before the status pipe's event: a failed exec's
         * reason is in the pipe already. */
        (void) worker_read_exec_status(w);
        w->child_source = sd_event_source_disable_unref(w->child_source);
        worker_classify(w, si);
        log_debug("Worker %s/%" PRIu64 " (pid %d) ended: %s (%s).", w->project_id, w->generation, (int) w->pid,
                  restart_cause_to_string(w->cause), w->reason);
        worker_report_dead(w);
        return 0;
}

/* ---- replies ------------------------------------------------------------- */

static void worker_protocol_violation(LhWorker *w, const char *what) {
        char buf[256];

        w->protocol_error = true;
        snprintf(buf, sizeof buf, "REPL protocol error: %s", what);
        log_warning("Worker %s/%" PRIu64 ": %s", w->project_id, w->generation, buf);
        worker_kill(w, RESTART_CAUSE_SESSION_MISSING, buf);
}

static int on_eof_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LhWorker *w = userdata;

        (void) s;
        (void) usec;
        worker_kill(w, RESTART_CAUSE_SESSION_MISSING, "worker closed its stdout");
        return 0;
}

static void worker_handle_stdout_eof(LhWorker *w) {
        int r;

        w->io.source = sd_event_source_disable_unref(w->io.source);
        if (w->state == WORKER_DEAD || w->eof_timer)
                return;
        if (repl_decoder_finish(w->io.decoder) < 0)
                w->protocol_error = true;
        /* Usually the process exits right after; classify by its exit then. */
        r = sd_event_add_time_relative(w->event, &w->eof_timer, CLOCK_MONOTONIC, WORKER_EOF_GRACE_USEC, 0,
                                       on_eof_timer, w);
        if (r < 0)
                worker_kill(w, RESTART_CAUSE_SESSION_MISSING, "worker closed its stdout");
}

/* The reply is in: back to ready, and no sampling until the next command. */
static void worker_job_step_done(LhWorker *w) {
        w->state = WORKER_READY;
        if (w->sample_timer)
                (void) sd_event_source_set_enabled(w->sample_timer, SD_EVENT_OFF);
}

static int on_stdio(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LhWorker *w = userdata;
        char buf[WORKER_READ_CHUNK];
        ssize_t n;
        int r;

        (void) s;
        (void) fd;
        if (revents & EPOLLOUT) {
                r = worker_io_flush(&w->io);
                if (r < 0 && w->state != WORKER_DEAD) {
                        log_debug_errno(r, "Worker %s/%" PRIu64 ": write failed: %m", w->project_id, w->generation);
                        worker_io_drop_output(&w->io);
                        (void) sd_event_source_set_io_events(w->io.source, EPOLLIN);
                }
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        n = worker_io_read(&w->io, buf, sizeof buf);
        if (n == -EAGAIN)
                return 0;
        if (n <= 0) {
                worker_handle_stdout_eof(w);
                return 0;
        }

        worker_ref(w);
        for (size_t off = 0; off < (size_t) n && !w->freed && !w->protocol_error;) {
                json_object *reply = NULL;
                size_t used = 0;

                r = repl_decoder_feed(w->io.decoder, buf + off, (size_t) n - off, &used, &reply);
                off += used;
                if (r == -EMSGSIZE) {
                        /* the input asked for too much: not the worker's fault */
                        w->protocol_error = true;
                        worker_kill(w, RESTART_CAUSE_REPLY_TOO_LARGE, repl_decoder_error(w->io.decoder));
                        break;
                }
                if (r < 0) {
                        worker_protocol_violation(w, repl_decoder_error(w->io.decoder));
                        break;
                }
                if (r == 0)
                        break;
                if (w->state != WORKER_BUSY) {
                        json_object_put(reply);
                        if (w->state == WORKER_STOPPING)
                                continue; /* a late reply while winding down */
                        worker_protocol_violation(w, "a reply nobody asked for");
                        break;
                }
                worker_job_step_done(w);
                if (w->cb.on_reply)
                        w->cb.on_reply(w, reply, w->userdata);
                json_object_put(reply);
        }
        worker_unref(w);
        return 0;
}

/* ---- sampling ------------------------------------------------------------ */

static void worker_locate_cgroup(LhWorker *w) {
        if (w->mode != ENFORCEMENT_MODE_SCOPE || w->pid <= 0 || w->reaped)
                return;
        worker_sampler_locate(&w->sampler, w->pid, w->name);
}

/* One sample (notify: to on_sample); 1 if it pushed the worker over the hard tier (killed). */
static int worker_sample(LhWorker *w, bool notify) {
        char reason[192];
        WorkerMemory m;

        if (w->state == WORKER_DEAD || w->pid <= 0 || w->reaped)
                return 0;

        worker_locate_cgroup(w);
        if (worker_sampler_read(&w->sampler, w->pid, &w->tree, &m) < 0)
                return 0; /* gone already: on_child tells the rest */

        w->memory = m;
        if (notify && w->cb.on_sample && !w->freed)
                w->cb.on_sample(w, &w->memory, w->userdata);

        if (w->state != WORKER_DEAD && worker_memory_over_hard_tier(&m, w->memory_max_kib, reason, sizeof reason)) {
                worker_kill_memory(w, RESTART_CAUSE_RSS_HARD_LIMIT, reason, worker_memory_tier_kib(&m),
                                   w->memory_max_kib);
                return 1;
        }
        return 0;
}

const WorkerMemory *worker_sample_now(LhWorker *w) {
        if (!w)
                return NULL;
        (void) worker_sample(w, false);
        return &w->memory;
}

static int on_sample(sd_event_source *s, uint64_t usec, void *userdata) {
        LhWorker *w = userdata;
        int r;

        /* a late expiry after the reply: the worker is idle and cannot grow */
        if (w->state != WORKER_BUSY)
                return 0;
        worker_ref(w);
        r = worker_sample(w, true);
        if (r == 0 && w->state == WORKER_BUSY && !w->freed) {
                w->sample_due = usec + w->sample_interval;
                (void) sd_event_source_set_time(s, w->sample_due);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        worker_unref(w);
        return 0;
}

/* A command went out: sample while it runs. A job's next command keeps the
 * time due, so a job of many short commands is still sampled every interval. */
static void worker_sampling_start(LhWorker *w) {
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (w->sample_due <= now)
                w->sample_due = now + w->sample_interval;
        if (!w->sample_timer) {
                r = sd_event_add_time(w->event, &w->sample_timer, CLOCK_MONOTONIC, w->sample_due,
                                      w->sample_interval / 10, on_sample, w);
                if (r < 0) {
                        log_warning_errno(r, "Worker %s/%" PRIu64 ": cannot sample memory: %m", w->project_id,
                                          w->generation);
                        return;
                }
                (void) sd_event_source_set_description(w->sample_timer, "worker-sample");
        } else
                (void) sd_event_source_set_time(w->sample_timer, w->sample_due);
        (void) sd_event_source_set_enabled(w->sample_timer, SD_EVENT_ONESHOT);
}

/* ---- start --------------------------------------------------------------- */

static void worker_became_ready(LhWorker *w) {
        w->state = WORKER_READY;
        if (w->cb.on_ready && !w->freed) {
                worker_ref(w);
                w->cb.on_ready(w, w->userdata);
                worker_unref(w);
        }
}

static int on_exec_status(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LhWorker *w = userdata;

        (void) s;
        (void) fd;
        (void) revents;
        if (worker_read_exec_status(w) == 0 && w->state == WORKER_SPAWNING)
                worker_became_ready(w);
        return 0;
}

static int worker_open_gate(LhWorker *w) {
        int r;

        r = worker_spawn_open_gate(&w->gate_fd, w->mode == ENFORCEMENT_MODE_PROCESS);
        if (r < 0)
                return r;
        w->state = WORKER_SPAWNING; /* waiting for exec */
        return 0;
}

static void on_placed(ScopePlacer *p, int r, const char *unit, const char *cgroup_path, void *userdata) {
        LhWorker *w = userdata;

        (void) p;
        (void) cgroup_path; /* the pid's own view is as good and works for v1 too */
        w->placement = NULL;
        if (w->state == WORKER_DEAD || w->cause_set)
                return;

        if (r < 0) {
                char reason[256];

                snprintf(reason, sizeof reason, "could not create scope %s: %s", strna(unit), strerror(-r));
                /* Not ours: never stop a unit of that name (it may be someone else's). */
                w->unit = mfree(w->unit);
                if (w->require_scope) {
                        log_error("Worker %s/%" PRIu64 ": %s", w->project_id, w->generation, reason);
                        worker_kill(w, RESTART_CAUSE_WORKER_INTERNAL, reason);
                        return;
                }
                log_warning("Worker %s/%" PRIu64 ": %s; running it as a plain child (process mode).",
                            w->project_id, w->generation, reason);
                w->mode = ENFORCEMENT_MODE_PROCESS;
        } else
                /* The child is in the scope now: find its memory cgroup before it
                 * runs, so an OOM kill at once is still told apart. */
                worker_locate_cgroup(w);
        if (worker_open_gate(w) < 0)
                worker_kill(w, RESTART_CAUSE_WORKER_INTERNAL, "could not release the worker");
}

int worker_start(LhWorker **ret, sd_event *event, ScopePlacer *placer, bool require_scope,
                 const WorkerSpec *spec, const WorkerCallbacks *cb, void *userdata) {
        _cleanup_free_ char **envp = NULL;
        WorkerChild child;
        bool use_scope;
        LhWorker *w;
        int r;

        if (!ret || !event || !spec || strv_isempty(spec->argv) || !cb)
                return -EINVAL;

        use_scope = placer && scope_placer_is_available(placer);
        if (require_scope && !use_scope)
                return -EOPNOTSUPP;

        w = new0(LhWorker, 1);
        if (!w)
                return -ENOMEM;
        *w = (LhWorker) {
                .n_ref = 1,
                .event = sd_event_ref(event),
                .placer = use_scope ? placer : NULL,
                .require_scope = require_scope,
                .state = use_scope ? WORKER_PLACING : WORKER_SPAWNING,
                .mode = use_scope ? ENFORCEMENT_MODE_SCOPE : ENFORCEMENT_MODE_PROCESS,
                .generation = spec->generation,
                .io.fd = -EBADF, .err.fd = -EBADF, .gate_fd = -EBADF, .exec_fd = -EBADF,
                .memory_high_kib = spec->memory_high_kib,
                .memory_max_kib = spec->memory_max_kib,
                .sample_interval = spec->sample_interval > 0 ? spec->sample_interval : 250 * USEC_PER_MSEC,
                .err.max = spec->stderr_max_bytes,
                .err.generation = spec->generation,
                .cb = *cb,
                .userdata = userdata,
        };
        w->project_id = strdup(strempty(spec->project_id));
        w->argv0 = strdup(spec->argv[0]);
        w->cwd = spec->cwd ? strdup(spec->cwd) : NULL;
        if (!w->project_id || !w->argv0 || (spec->cwd && !w->cwd) ||
            asprintf(&w->name, "%s/%" PRIu64, w->project_id, w->generation) < 0) {
                w->name = NULL;
                r = -ENOMEM;
                goto fail;
        }
        w->err.project_id = w->project_id;
        w->err.cwd = w->cwd;
        if (use_scope) {
                r = scope_placer_unit_name(placer, w->project_id, w->generation, &w->unit);
                if (r < 0)
                        goto fail;
        }
        r = worker_io_init(&w->io, event, spec->max_reply_bytes);
        if (r < 0)
                goto fail;
        r = worker_tree_init(&w->tree, event, w->project_id, w->generation);
        if (r < 0)
                goto fail;

        r = worker_tree_prepare_exec(&w->tree, &envp);
        if (r < 0)
                goto fail;

        r = worker_spawn_fork(spec, envp, &child);
        if (r < 0)
                goto fail;

        w->pid = w->tree.leader = child.pid;
        w->started = now_usec(CLOCK_MONOTONIC);
        w->io.fd = child.stdio_fd;
        w->gate_fd = child.gate_fd;
        w->exec_fd = child.exec_fd;

        r = worker_stderr_watch(&w->err, event, child.stderr_fd);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_child(event, &w->child_source, w->pid, WEXITED, on_child, w);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_io(event, &w->io.source, w->io.fd, EPOLLIN, on_stdio, w);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_io(event, &w->exec_source, w->exec_fd, EPOLLIN, on_exec_status, w);
        if (r < 0)
                goto fail_child;

        if (use_scope) {
                char desc[512];

                snprintf(desc, sizeof desc, "%s", spec->description ?: "Lean worker");
                /* no MemoryHigh: on v2 it throttles a job above it into a timeout */
                r = scope_placer_start(placer, &w->placement, w->unit, w->pid, desc, 0, spec->memory_max_kib,
                                       on_placed, w);
                if (r < 0) {
                        if (require_scope)
                                goto fail_child;
                        log_warning_errno(r, "Worker %s/%" PRIu64 ": cannot request a scope, process mode: %m",
                                          w->project_id, w->generation);
                        w->placement = NULL;
                        w->mode = ENFORCEMENT_MODE_PROCESS;
                        w->unit = mfree(w->unit);
                        w->placer = NULL;
                        r = worker_open_gate(w);
                        if (r < 0)
                                goto fail_child;
                }
        } else {
                r = worker_open_gate(w);
                if (r < 0)
                        goto fail_child;
        }

        log_debug("Worker %s/%" PRIu64 " forked as pid %d (%s mode%s%s).", w->project_id, w->generation,
                  (int) w->pid, enforcement_mode_to_string(w->mode), w->unit ? ", scope " : "", strempty(w->unit));
        *ret = w;
        return 0;

fail_child:
        (void) kill(w->pid, SIGKILL);
        (void) waitpid(w->pid, NULL, 0);
        w->reaped = true;
fail:
        worker_destroy(w);
        return r;
}

int worker_send(LhWorker *w, json_object *command) {
        int r;

        if (!w || !command)
                return -EINVAL;
        if (w->state != WORKER_READY || !w->io.source)
                return -EBUSY;

        r = worker_io_queue(&w->io, command);
        if (r < 0)
                return r;
        w->state = WORKER_BUSY;
        r = worker_io_flush(&w->io);
        if (r < 0) {
                /* The worker is going away (EPIPE): on_child will tell why. */
                log_debug_errno(r, "Worker %s/%" PRIu64 ": cannot send command: %m", w->project_id, w->generation);
                worker_io_drop_output(&w->io);
        }
        worker_sampling_start(w);
        return 0;
}

LhWorker *worker_free(LhWorker *w) {
        if (!w)
                return NULL;
        if (w->freed)
                return NULL;
        w->freed = true;

        if (w->pid > 0 && !w->reaped) {
                worker_signal(w, SIGKILL);
                w->child_source = sd_event_source_disable_unref(w->child_source);
                (void) waitpid(w->pid, NULL, 0);
                w->reaped = true;
        }
        /* only when descendants are left, i.e. at shutdown or a very early free */
        worker_tree_reap_now(&w->tree);
        if (w->unit && w->placer && !w->dead_reported)
                (void) scope_placer_stop_unit(w->placer, w->unit);
        if (w->placement) {
                scope_placement_cancel(w->placement);
                w->placement = NULL;
        }
        w->state = WORKER_DEAD;
        w->dead_reported = true;
        worker_close_io(w);
        w->child_source = sd_event_source_disable_unref(w->child_source);
        return worker_unref(w);
}

bool worker_is_gone(const LhWorker *w) {
        return !w || ((w->reaped || w->pid <= 0) && worker_tree_is_empty(&w->tree));
}

WorkerState worker_get_state(const LhWorker *w) {
        return w ? w->state : WORKER_DEAD;
}

pid_t worker_get_pid(const LhWorker *w) {
        return w && !w->reaped ? w->pid : 0;
}

uint64_t worker_get_generation(const LhWorker *w) {
        return w ? w->generation : 0;
}

EnforcementMode worker_get_mode(const LhWorker *w) {
        return w ? w->mode : ENFORCEMENT_MODE_PROCESS;
}

const char *worker_get_unit(const LhWorker *w) {
        return w ? w->unit : NULL;
}

const WorkerMemory *worker_get_memory(const LhWorker *w) {
        return w ? &w->memory : NULL;
}

usec_t worker_get_started(const LhWorker *w) {
        return w ? w->started : 0;
}

void worker_get_stderr_stats(const LhWorker *w, uint64_t *ret_logged_bytes, uint64_t *ret_dropped_bytes) {
        if (ret_logged_bytes)
                *ret_logged_bytes = w ? w->err.logged : 0;
        if (ret_dropped_bytes)
                *ret_dropped_bytes = w ? w->err.dropped : 0;
}
