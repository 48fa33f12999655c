/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One Lean worker process. See worker.h for the state machine.
 *
 * The child is forked first and parked on a gate pipe; in scope mode the
 * placer moves it into its transient scope (StartTransientUnit + JobRemoved,
 * asynchronously), and only then is the gate opened and argv exec'd, so the
 * worker never allocates a byte outside its MemoryMax. A CLOEXEC status pipe
 * tells the parent whether exec worked (EOF) or not (an errno). */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/log.h"
#include "basic/string-table.h"
#include "basic/strv.h"
#include "basic/time-util.h"
#include "worker/memory.h"
#include "worker/repl.h"
#include "worker/scope.h"
#include "worker/worker-tree.h"
#include "worker/worker.h"

#define WORKER_STOP_TERM_USEC (2 * USEC_PER_SEC)  /* stdin closed → SIGTERM */
#define WORKER_STOP_KILL_USEC (3 * USEC_PER_SEC)  /* SIGTERM → SIGKILL */
#define WORKER_EOF_GRACE_USEC (2 * USEC_PER_SEC)  /* stdout EOF → SIGKILL if still alive */
#define WORKER_READ_CHUNK (64 * 1024)
#define WORKER_STDERR_LINE_MAX 4096

/* What the child reports on the CLOEXEC status pipe when it cannot exec. */
enum {
        EXEC_STEP_SETUP,
        EXEC_STEP_CHDIR,
        EXEC_STEP_EXEC,
};

/* The gate byte says which mode the child runs in. */
#define GATE_SCOPE_MODE 's'
#define GATE_PROCESS_MODE 'p'

typedef struct ExecStatus {
        int step;
        int error;
} ExecStatus;

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
        char *argv0;
        char *cwd;
        char *unit;
        char *cgroup_dir;      /* memory cgroup directory, located lazily */
        bool cgroup_v2;
        bool cgroup_located;

        int stdio_fd;          /* socket: commands out, replies in */
        int stderr_fd;
        int gate_fd;           /* write end: one byte releases the child */
        int exec_fd;           /* read end: EOF = exec'd, 4 bytes = errno */
        sd_event_source *stdio_source, *stderr_source, *exec_source, *child_source;
        sd_event_source *sample_timer, *stop_timer, *eof_timer;
        bool term_sent;

        ReplDecoder *decoder;
        bool protocol_error;
        char *out;             /* pending command bytes */
        size_t out_len, out_off;

        uint64_t memory_high_kib, memory_max_kib;
        usec_t sample_interval;
        WorkerMemory memory;
        uint64_t oom_kills_baseline;
        bool oom_baseline_valid;

        uint64_t stderr_max, stderr_logged, stderr_dropped;
        char stderr_line[WORKER_STDERR_LINE_MAX];
        size_t stderr_line_len;

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

static LhWorker *worker_ref(LhWorker *w) {
        w->n_ref++;
        return w;
}

static void worker_close_io(LhWorker *w) {
        w->stdio_source = sd_event_source_disable_unref(w->stdio_source);
        w->stderr_source = sd_event_source_disable_unref(w->stderr_source);
        w->exec_source = sd_event_source_disable_unref(w->exec_source);
        w->sample_timer = sd_event_source_disable_unref(w->sample_timer);
        w->stop_timer = sd_event_source_disable_unref(w->stop_timer);
        w->eof_timer = sd_event_source_disable_unref(w->eof_timer);
        w->stdio_fd = safe_close(w->stdio_fd);
        w->stderr_fd = safe_close(w->stderr_fd);
        w->gate_fd = safe_close(w->gate_fd);
        w->exec_fd = safe_close(w->exec_fd);
}

static void worker_destroy(LhWorker *w) {
        worker_close_io(w);
        w->child_source = sd_event_source_disable_unref(w->child_source);
        worker_tree_done(&w->tree);
        if (w->placement)
                scope_placement_cancel(w->placement);
        repl_decoder_free(w->decoder);
        free(w->out);
        free(w->project_id);
        free(w->argv0);
        free(w->cwd);
        free(w->unit);
        free(w->cgroup_dir);
        sd_event_unref(w->event);
        free(w);
}

static LhWorker *worker_unref(LhWorker *w) {
        if (w && --w->n_ref == 0)
                worker_destroy(w);
        return NULL;
}

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
        if (w->stdio_fd >= 0)
                (void) shutdown(w->stdio_fd, SHUT_WR);
        r = sd_event_add_time_relative(w->event, &w->stop_timer, CLOCK_MONOTONIC, WORKER_STOP_TERM_USEC, 0,
                                       on_stop_timer, w);
        if (r < 0) {
                log_warning_errno(r, "Failed to arm the stop timer, killing worker now: %m");
                worker_signal(w, SIGKILL);
        }
}

/* ---- death --------------------------------------------------------------- */

/* Did the kernel OOM-kill something in the scope? 1 yes, 0 no, -errno when
 * the cgroup cannot be read (already removed by the manager: the scope ends
 * as soon as it is empty, which can be before we get here). */
static int worker_oom_killed(LhWorker *w, uint64_t *ret_peak_kib) {
        WorkerMemory m = {};
        int r;

        *ret_peak_kib = 0;
        if (!w->cgroup_dir)
                return -ENOENT;
        r = memory_sample_cgroup(w->cgroup_dir, w->cgroup_v2, &m);
        if (r < 0)
                return r;
        (void) memory_cgroup_peak_kib(w->cgroup_dir, w->cgroup_v2, ret_peak_kib);
        return m.oom_kills > (w->oom_baseline_valid ? w->oom_kills_baseline : 0);
}

/* Memory at the hard tier when the last sample was taken: within ~5%. In
 * scope mode the kernel limits the whole charge, in process mode the daemon
 * acts on anonymous memory. */
static bool worker_memory_at_limit(LhWorker *w) {
        uint64_t v;

        if (!w->memory.valid || w->memory_max_kib == 0)
                return false;
        v = w->mode == ENFORCEMENT_MODE_SCOPE ? MAX(w->memory.rss_kib, w->memory.anon_kib) : w->memory.anon_kib;
        return v >= w->memory_max_kib / 20 * 19;
}

static void worker_classify(LhWorker *w, const siginfo_t *si) {
        char buf[128];

        if (w->cause_set)
                return;
        if (si->si_code == CLD_EXITED) {
                if (w->protocol_error)
                        return worker_request_end(w, RESTART_CAUSE_SESSION_MISSING,
                                                  "worker broke the REPL protocol and exited", 0, 0);
                snprintf(buf, sizeof buf, "exited with status %d", si->si_status);
                return worker_request_end(w, RESTART_CAUSE_CHILD_EXIT, buf, 0, 0);
        }

        if (si->si_status == SIGKILL) {
                uint64_t rss = w->memory.valid ? MAX(w->memory.rss_kib, w->memory.anon_kib) : 0, peak = 0;
                int oom = w->mode == ENFORCEMENT_MODE_SCOPE ? worker_oom_killed(w, &peak) : 0;

                /* Nobody here asked for this SIGKILL. The kernel OOM killer in the
                 * scope (MemoryMax) counts in the cgroup; if the scope is gone
                 * already, a SIGKILL nobody sent in a memory-limited scope is the
                 * kernel's; in process mode, memory at the limit says it. */
                /* The scope's peak charge at MemoryMax says it too: in a cgroup v2
                 * guest the oom_kill count was once seen unraised at SIGCHLD. */
                bool peak_at_max = oom == 0 && w->memory_max_kib > 0 && peak >= w->memory_max_kib / 20 * 19;

                if (oom > 0 || (oom < 0 && w->memory_max_kib > 0) || peak_at_max || worker_memory_at_limit(w)) {
                        if (oom != 0)
                                snprintf(buf, sizeof buf,
                                         "killed by the kernel OOM killer at the hard tier (MemoryMax=%" PRIu64 "K)%s",
                                         w->memory_max_kib, oom < 0 ? " (scope already gone)" : "");
                        else if (peak_at_max)
                                snprintf(buf, sizeof buf,
                                         "killed by the kernel OOM killer at the hard tier (MemoryMax=%" PRIu64 "K, "
                                         "scope peak %" PRIu64 "K)", w->memory_max_kib, peak);
                        else
                                snprintf(buf, sizeof buf, "SIGKILLed with memory at the hard tier (%" PRIu64 "K)",
                                         w->memory_max_kib);
                        /* The last sample can be older than the allocation that hit the
                         * limit: report at least the peak (or the limit it was killed at). */
                        rss = MAX(rss, oom != 0 || peak_at_max ? MAX(peak, w->memory_max_kib) : rss);
                        return worker_request_end(w, RESTART_CAUSE_RSS_HARD_LIMIT, buf, rss, w->memory_max_kib);
                }
        }
        snprintf(buf, sizeof buf, "killed by signal SIG%s%s", sigabbrev_np(si->si_status) ?: "?",
                 si->si_code == CLD_DUMPED ? " (core dumped)" : "");
        worker_request_end(w, RESTART_CAUSE_CHILD_ABORT, buf, 0, 0);
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

static int worker_read_exec_status(LhWorker *w);

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

/* ---- I/O ----------------------------------------------------------------- */

static int worker_flush(LhWorker *w) {
        while (w->out_off < w->out_len) {
                ssize_t n = send(w->stdio_fd, w->out + w->out_off, w->out_len - w->out_off,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return sd_event_source_set_io_events(w->stdio_source, EPOLLIN | EPOLLOUT);
                        return -errno;
                }
                w->out_off += (size_t) n;
        }
        w->out = mfree(w->out);
        w->out_len = w->out_off = 0;
        return sd_event_source_set_io_events(w->stdio_source, EPOLLIN);
}

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

        w->stdio_source = sd_event_source_disable_unref(w->stdio_source);
        if (w->state == WORKER_DEAD || w->eof_timer)
                return;
        if (repl_decoder_finish(w->decoder) < 0)
                w->protocol_error = true;
        /* Usually the process exits right after; classify by its exit then. */
        r = sd_event_add_time_relative(w->event, &w->eof_timer, CLOCK_MONOTONIC, WORKER_EOF_GRACE_USEC, 0,
                                       on_eof_timer, w);
        if (r < 0)
                worker_kill(w, RESTART_CAUSE_SESSION_MISSING, "worker closed its stdout");
}

static int on_stdio(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LhWorker *w = userdata;
        char buf[WORKER_READ_CHUNK];
        ssize_t n;
        int r;

        (void) s;
        if (revents & EPOLLOUT) {
                r = worker_flush(w);
                if (r < 0 && w->state != WORKER_DEAD) {
                        log_debug_errno(r, "Worker %s/%" PRIu64 ": write failed: %m", w->project_id, w->generation);
                        w->out = mfree(w->out);
                        w->out_len = w->out_off = 0;
                        (void) sd_event_source_set_io_events(w->stdio_source, EPOLLIN);
                }
        }
        if (!(revents & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                return 0;

        n = read(fd, buf, sizeof buf);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                worker_handle_stdout_eof(w);
                return 0;
        }
        if (n == 0) {
                worker_handle_stdout_eof(w);
                return 0;
        }

        worker_ref(w);
        for (size_t off = 0; off < (size_t) n && !w->freed && !w->protocol_error;) {
                json_object *reply = NULL;
                size_t used = 0;

                r = repl_decoder_feed(w->decoder, buf + off, (size_t) n - off, &used, &reply);
                off += used;
                if (r == -EMSGSIZE) {
                        /* the input asked for too much: not the worker's fault */
                        w->protocol_error = true;
                        worker_kill(w, RESTART_CAUSE_REPLY_TOO_LARGE, repl_decoder_error(w->decoder));
                        break;
                }
                if (r < 0) {
                        worker_protocol_violation(w, repl_decoder_error(w->decoder));
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
                w->state = WORKER_READY;
                if (w->cb.on_reply)
                        w->cb.on_reply(w, reply, w->userdata);
                json_object_put(reply);
        }
        worker_unref(w);
        return 0;
}

static void worker_log_stderr_line(LhWorker *w, const char *line, size_t len) {
        char msg[WORKER_STDERR_LINE_MAX + 128], id[64], gen[48], root[4096 + 32];

        /* Once over the bound, drop the rest: a log with holes in it misleads. */
        if (w->stderr_dropped > 0 || w->stderr_logged + len + 1 > w->stderr_max) {
                if (w->stderr_dropped == 0)
                        log_info("Worker %s/%" PRIu64 ": stderr over %" PRIu64 " bytes, not logging the rest.",
                                 w->project_id, w->generation, w->stderr_max);
                w->stderr_dropped += len + 1;
                return;
        }
        w->stderr_logged += len + 1;
        snprintf(msg, sizeof msg, "worker %s/%" PRIu64 ": %.*s", w->project_id, w->generation, (int) len, line);
        snprintf(id, sizeof id, "LEAN_HOST_PROJECT_ID=%s", w->project_id);
        snprintf(root, sizeof root, "LEAN_HOST_PROJECT=%s", strempty(w->cwd));
        snprintf(gen, sizeof gen, "LEAN_HOST_GENERATION=%" PRIu64, w->generation);
        /* The root only as a journal field: on stderr the id says enough. */
        (void) log_struct_internal(LOG_INFO, 0, msg, id, gen, "LEAN_HOST_STREAM=stderr",
                                   log_to_journal() && w->cwd ? root : NULL, NULL);
}

static int on_stderr(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LhWorker *w = userdata;
        char buf[WORKER_READ_CHUNK];
        ssize_t n;

        (void) s;
        (void) revents;
        n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n <= 0) {
                if (w->stderr_line_len > 0)
                        worker_log_stderr_line(w, w->stderr_line, w->stderr_line_len);
                w->stderr_line_len = 0;
                w->stderr_source = sd_event_source_disable_unref(w->stderr_source);
                w->stderr_fd = safe_close(w->stderr_fd);
                return 0;
        }
        for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == '\n' || w->stderr_line_len == sizeof w->stderr_line) {
                        worker_log_stderr_line(w, w->stderr_line, w->stderr_line_len);
                        w->stderr_line_len = 0;
                        if (buf[i] == '\n')
                                continue;
                }
                w->stderr_line[w->stderr_line_len++] = buf[i];
        }
        return 0;
}

/* ---- sampling ------------------------------------------------------------ */

static void worker_locate_cgroup(LhWorker *w, const char *cgroup_path) {
        (void) cgroup_path; /* the pid's own view is as good and works for v1 too */
        if (w->cgroup_located || w->mode != ENFORCEMENT_MODE_SCOPE || w->pid <= 0 || w->reaped)
                return;
        w->cgroup_located = true;
        if (memory_cgroup_locate(w->pid, &w->cgroup_dir, &w->cgroup_v2) < 0)
                log_debug("Worker %s/%" PRIu64 ": no memory cgroup found, sampling /proc.", w->project_id,
                          w->generation);
        else
                log_debug("Worker %s/%" PRIu64 ": memory cgroup %s.", w->project_id, w->generation, w->cgroup_dir);
}

/* One sample; 1 if it pushed the worker over the hard tier (killed). */
static int worker_sample(LhWorker *w) {
        WorkerMemory m = {};
        int r = -ENOENT;

        if (w->state == WORKER_DEAD || w->pid <= 0 || w->reaped)
                return 0;

        worker_locate_cgroup(w, NULL);
        if (w->cgroup_dir)
                r = memory_sample_cgroup(w->cgroup_dir, w->cgroup_v2, &m);
        if (r < 0) {
                r = memory_sample_proc_tree(w->pid, &m);
                worker_tree_track(&w->tree); /* no cgroup holds the tree together: remember it */
        }
        if (r < 0)
                return 0; /* gone already: on_child tells the rest */

        if (!w->oom_baseline_valid && w->cgroup_dir) {
                w->oom_kills_baseline = m.oom_kills;
                w->oom_baseline_valid = true;
        }
        w->memory = m;
        w->memory.valid = true;
        if (w->cb.on_sample && !w->freed)
                w->cb.on_sample(w, &w->memory, w->userdata);

        /* The hard tier on anonymous memory plus swap: the kernel enforces
         * MemoryMax on the whole charge in scope mode; this is the second
         * line there and the only one in process mode and where swap is not
         * limited (MemorySwapMax unsupported). */
        if (w->memory_max_kib > 0 && worker_memory_tier_kib(&m) > w->memory_max_kib && w->state != WORKER_DEAD) {
                char reason[192];

                if (m.swap_valid && m.swap_kib > 0)
                        snprintf(reason, sizeof reason,
                                 "anonymous memory %" PRIu64 " KiB + swap %" PRIu64 " KiB over the hard tier %" PRIu64 " KiB",
                                 m.anon_kib, m.swap_kib, w->memory_max_kib);
                else
                        snprintf(reason, sizeof reason, "anonymous memory %" PRIu64 " KiB over the hard tier %" PRIu64 " KiB",
                                 m.anon_kib, w->memory_max_kib);
                worker_kill_memory(w, RESTART_CAUSE_RSS_HARD_LIMIT, reason, worker_memory_tier_kib(&m),
                                   w->memory_max_kib);
                return 1;
        }
        return 0;
}

const WorkerMemory *worker_sample_now(LhWorker *w) {
        if (!w)
                return NULL;
        (void) worker_sample(w);
        return &w->memory;
}

static int on_sample(sd_event_source *s, uint64_t usec, void *userdata) {
        LhWorker *w = userdata;

        (void) usec;
        if (worker_sample(w) > 0 || w->state == WORKER_DEAD)
                return 0;
        (void) sd_event_source_set_time_relative(s, w->sample_interval);
        return 0;
}

/* ---- start --------------------------------------------------------------- */

static void worker_became_ready(LhWorker *w) {
        int r;

        w->state = WORKER_READY;
        r = sd_event_add_time_relative(w->event, &w->sample_timer, CLOCK_MONOTONIC, w->sample_interval,
                                       w->sample_interval / 10, on_sample, w);
        if (r >= 0)
                (void) sd_event_source_set_enabled(w->sample_timer, SD_EVENT_ON);
        else
                log_warning_errno(r, "Worker %s/%" PRIu64 ": cannot sample memory: %m", w->project_id,
                                  w->generation);
        if (w->cb.on_ready && !w->freed) {
                worker_ref(w);
                w->cb.on_ready(w, w->userdata);
                worker_unref(w);
        }
}

/* The child's word on exec: 0 exec'd (EOF), 1 it failed (cause recorded),
 * -EAGAIN nothing yet. */
static int worker_read_exec_status(LhWorker *w) {
        ExecStatus st = {};
        char reason[256];
        ssize_t n;

        if (w->exec_fd < 0)
                return 0;
        n = read(w->exec_fd, &st, sizeof st);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return -EAGAIN;
        w->exec_source = sd_event_source_disable_unref(w->exec_source);
        w->exec_fd = safe_close(w->exec_fd);
        if (n != (ssize_t) sizeof st)
                return 0;

        if (st.step == EXEC_STEP_CHDIR)
                snprintf(reason, sizeof reason, "cannot change to the project directory %s: %s", strna(w->cwd),
                         strerror(st.error));
        else if (st.step == EXEC_STEP_EXEC)
                snprintf(reason, sizeof reason, "cannot execute %s: %s", w->argv0, strerror(st.error));
        else
                snprintf(reason, sizeof reason, "cannot set up the worker process for %s: %s", w->argv0,
                         strerror(st.error));
        log_error("Worker %s/%" PRIu64 ": %s", w->project_id, w->generation, reason);
        worker_request_end(w, RESTART_CAUSE_CHILD_EXIT, reason, 0, 0);
        return 1; /* the child _exit()s; on_child reports it */
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
        char c = w->mode == ENFORCEMENT_MODE_PROCESS ? GATE_PROCESS_MODE : GATE_SCOPE_MODE;
        ssize_t n;

        n = write(w->gate_fd, &c, 1);
        w->gate_fd = safe_close(w->gate_fd);
        if (n != 1)
                return -EIO;
        w->state = WORKER_SPAWNING; /* waiting for exec */
        return 0;
}

static void on_placed(ScopePlacer *p, int r, const char *unit, const char *cgroup_path, void *userdata) {
        LhWorker *w = userdata;

        (void) p;
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
                worker_locate_cgroup(w, cgroup_path);
        if (worker_open_gate(w) < 0)
                worker_kill(w, RESTART_CAUSE_WORKER_INTERNAL, "could not release the worker");
}

static void child_mark_cloexec(void) {
        /* Everything above stdio goes at exec; the gate and status pipes are already O_CLOEXEC. */
        if (syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */) >= 0)
                return;
        for (int fd = 3; fd < 65536; fd++)
                (void) fcntl(fd, F_SETFD, FD_CLOEXEC);
}

_noreturn_ static void child_fail(int exec_fd, int step) {
        ExecStatus st = { .step = step, .error = errno };

        (void) !write(exec_fd, &st, sizeof st);
        _exit(127);
}

static void child_reset_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= 1024)
                return;
        rl.rlim_cur = 1024;
        (void) setrlimit(RLIMIT_NOFILE, &rl);
}

_noreturn_ static void child_run(const WorkerSpec *spec, char **envp, pid_t parent, int io_fd, int err_fd,
                                 int gate_fd, int exec_fd) {
        sigset_t all;
        ssize_t n;
        char c;

        (void) setpgid(0, 0);
        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        for (int sig = 1; sig < _NSIG; sig++)
                (void) signal(sig, SIG_DFL);
        if (dup2(io_fd, STDIN_FILENO) < 0 || dup2(io_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
                child_fail(exec_fd, EXEC_STEP_SETUP);
        child_mark_cloexec();
        /* The daemon raised its own soft fd limit for its connections;
         * programs expect the conventional 1024 (select()), as systemd
         * hands its services. */
        child_reset_nofile();

        /* Parked until the scope exists (or process mode is settled); EOF
         * without the byte means the parent gave up on us. */
        while ((n = read(gate_fd, &c, 1)) < 0)
                if (errno != EINTR)
                        _exit(127);
        if (n == 0)
                _exit(127);
        /* A plain child must not outlive a daemon that dies: nothing else
         * would ever stop it. A scope is found and stopped by the next
         * daemon's stale clean-up instead. */
        if (c == GATE_PROCESS_MODE && (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent))
                _exit(127);
        if (spec->cwd && chdir(spec->cwd) < 0)
                child_fail(exec_fd, EXEC_STEP_CHDIR);
        (void) sandbox_execvpe(spec->sandbox, spec->argv, envp, spec->cwd); /* in bwrap if configured */
        child_fail(exec_fd, EXEC_STEP_EXEC);
}

int worker_start(LhWorker **ret, sd_event *event, ScopePlacer *placer, bool require_scope,
                 const WorkerSpec *spec, const WorkerCallbacks *cb, void *userdata) {
        _cleanup_close_ int io_parent = -EBADF, io_child = -EBADF, err_r = -EBADF, err_w = -EBADF,
                        gate_r = -EBADF, gate_w = -EBADF, exec_r = -EBADF, exec_w = -EBADF;
        _cleanup_free_ char **envp = NULL;
        int sv[2], p[2];
        bool use_scope;
        LhWorker *w;
        pid_t pid, parent;
        int r;

        if (!ret || !event || !spec || strv_isempty(spec->argv) || !cb)
                return -EINVAL;

        use_scope = placer && scope_placer_is_available(placer);
        if (require_scope && !use_scope)
                return -EOPNOTSUPP;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -errno;
        io_parent = sv[0], io_child = sv[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        err_r = p[0], err_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        gate_r = p[0], gate_w = p[1];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        exec_r = p[0], exec_w = p[1];

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
                .stdio_fd = -EBADF, .stderr_fd = -EBADF, .gate_fd = -EBADF, .exec_fd = -EBADF,
                .memory_high_kib = spec->memory_high_kib,
                .memory_max_kib = spec->memory_max_kib,
                .sample_interval = spec->sample_interval > 0 ? spec->sample_interval : 250 * USEC_PER_MSEC,
                .stderr_max = spec->stderr_max_bytes,
                .cb = *cb,
                .userdata = userdata,
        };
        w->project_id = strdup(strempty(spec->project_id));
        w->argv0 = strdup(spec->argv[0]);
        w->cwd = spec->cwd ? strdup(spec->cwd) : NULL;
        if (!w->project_id || !w->argv0 || (spec->cwd && !w->cwd)) {
                r = -ENOMEM;
                goto fail;
        }
        if (use_scope) {
                r = scope_placer_unit_name(placer, w->project_id, w->generation, &w->unit);
                if (r < 0)
                        goto fail;
        }
        r = repl_decoder_new(&w->decoder, spec->max_reply_bytes ?: REPL_REPLY_MAX_DEFAULT);
        if (r < 0)
                goto fail;
        r = worker_tree_init(&w->tree, event, w->project_id, w->generation);
        if (r < 0)
                goto fail;

        r = worker_tree_prepare_exec(&w->tree, &envp);
        if (r < 0)
                goto fail;

        parent = getpid();
        pid = fork();
        if (pid < 0) {
                r = -errno;
                goto fail;
        }
        if (pid == 0)
                child_run(spec, envp, parent, io_child, err_w, gate_r, exec_w);

        w->pid = w->tree.leader = pid;
        w->started = now_usec(CLOCK_MONOTONIC);
        (void) setpgid(pid, pid); /* also here: no race with signals sent before the child ran */
        io_child = safe_close(io_child);
        err_w = safe_close(err_w);
        gate_r = safe_close(gate_r);
        exec_w = safe_close(exec_w);
        w->stdio_fd = TAKE_FD(io_parent);
        w->stderr_fd = TAKE_FD(err_r);
        w->gate_fd = TAKE_FD(gate_w);
        w->exec_fd = TAKE_FD(exec_r);
        (void) fcntl(w->stdio_fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(w->stderr_fd, F_SETFL, O_NONBLOCK);

        r = sd_event_add_child(event, &w->child_source, pid, WEXITED, on_child, w);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_io(event, &w->stdio_source, w->stdio_fd, EPOLLIN, on_stdio, w);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_io(event, &w->stderr_source, w->stderr_fd, EPOLLIN, on_stderr, w);
        if (r < 0)
                goto fail_child;
        r = sd_event_add_io(event, &w->exec_source, w->exec_fd, EPOLLIN, on_exec_status, w);
        if (r < 0)
                goto fail_child;

        if (use_scope) {
                char desc[512];

                snprintf(desc, sizeof desc, "%s", spec->description ?: "Lean worker");
                /* no MemoryHigh: on v2 it throttles a job above it into a timeout */
                r = scope_placer_start(placer, &w->placement, w->unit, pid, desc, 0, spec->memory_max_kib,
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

        log_debug("Worker %s/%" PRIu64 " forked as pid %d (%s mode%s%s).", w->project_id, w->generation, (int) pid,
                  enforcement_mode_to_string(w->mode), w->unit ? ", scope " : "", strempty(w->unit));
        *ret = w;
        return 0;

fail_child:
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        w->reaped = true;
fail:
        worker_destroy(w);
        return r;
}

int worker_send(LhWorker *w, json_object *command) {
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        if (!w || !command)
                return -EINVAL;
        if (w->state != WORKER_READY || !w->stdio_source)
                return -EBUSY;

        r = repl_encode_command(command, &buf, &len);
        if (r < 0)
                return r;
        w->out = TAKE_PTR(buf);
        w->out_len = len;
        w->out_off = 0;
        w->state = WORKER_BUSY;
        r = worker_flush(w);
        if (r < 0) {
                /* The worker is going away (EPIPE): on_child will tell why. */
                log_debug_errno(r, "Worker %s/%" PRIu64 ": cannot send command: %m", w->project_id, w->generation);
                w->out = mfree(w->out);
                w->out_len = w->out_off = 0;
        }
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
                *ret_logged_bytes = w ? w->stderr_logged : 0;
        if (ret_dropped_bytes)
                *ret_dropped_bytes = w ? w->stderr_dropped : 0;
}
