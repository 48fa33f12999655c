/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The worker in process mode (no placer) against the test double
 * (tests/double/lean-repl-double, path in $LEAN_REPL_DOUBLE): lifecycle,
 * death classification, the sampler's hard tier, stop/kill/free, stderr. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/test-loop.h"
#include "basic/tests.h"
#include "worker/test-worker-util.h"
#include "basic/time-util.h"
#include "worker/scope.h"
#include "worker/worker.h"

#define WAIT_USEC (15 * USEC_PER_SEC)

static sd_event *event;
static const char *double_path;
static char tmp_dir[] = "/tmp/lh-test-worker-XXXXXX";


static void on_ready(LhWorker *w, void *userdata) {
        Probe *p = userdata;

        ASSERT_EQ(worker_get_state(w), WORKER_READY);
        p->n_ready++;
}

static void on_reply(LhWorker *w, json_object *reply, void *userdata) {
        Probe *p = userdata;

        /* back to ready before the callback: the next command may go out now */
        ASSERT_EQ(worker_get_state(w), WORKER_READY);
        probe_note_reply(p, reply);
}

static void on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib, uint64_t limit_kib,
                    void *userdata) {
        Probe *p = userdata;

        ASSERT_FALSE(p->in_call);
        ASSERT_EQ(worker_get_state(w), WORKER_DEAD);
        probe_note_dead(p, cause, reason, rss_kib, limit_kib);
}

static void on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        Probe *p = userdata;

        (void) w;
        ASSERT_TRUE(m->valid);
        ASSERT_STREQ(m->source, "proc");
        p->n_sample++;
}

static bool pid_gone(pid_t pid);

static const WorkerCallbacks callbacks = {
        .on_ready = on_ready,
        .on_reply = on_reply,
        .on_dead = on_dead,
        .on_sample = on_sample,
};

static WorkerSpec spec_default(char **argv) {
        return (WorkerSpec) {
                .argv = argv,
                .cwd = tmp_dir,
                .project_id = "0123abcd",
                .description = "test worker",
                .generation = 7,
                .memory_high_kib = 0,
                .memory_max_kib = 0,
                .sample_interval = 100 * USEC_PER_MSEC,
                .stderr_max_bytes = 65536,
                .slice = "lean-host.slice",
        };
}

static void run_until(const unsigned *counter, unsigned want, const char *what) {
        test_loop_run_until(event, counter, want, what, WAIT_USEC);
}

static void run_for(usec_t t) {
        test_loop_run_for(event, t);
}

static LhWorker *start(Probe *p, const WorkerSpec *spec) {
        LhWorker *w = NULL;

        *p = (Probe) {};
        p->in_call = true;
        ASSERT_OK(worker_start(&w, event, NULL, false, spec, &callbacks, p));
        p->in_call = false;
        ASSERT_TRUE(w);
        ASSERT_EQ(worker_get_mode(w), ENFORCEMENT_MODE_PROCESS);
        ASSERT_TRUE(!worker_get_unit(w));
        ASSERT_EQ(worker_get_generation(w), spec->generation);
        ASSERT_TRUE(worker_get_pid(w) > 0);
        return w;
}

static LhWorker *start_ready(Probe *p, const WorkerSpec *spec) {
        LhWorker *w = start(p, spec);

        run_until(&p->n_ready, 1, "ready");
        ASSERT_EQ(worker_get_state(w), WORKER_READY);
        return w;
}

static void send_cmd(Probe *p, LhWorker *w, const char *text, int env) {
        json_object *o = json_object_new_object();

        ASSERT_TRUE(o);
        json_object_object_add(o, "cmd", json_object_new_string(text));
        if (env >= 0)
                json_object_object_add(o, "env", json_object_new_int(env));
        p->in_call = true;
        ASSERT_OK(worker_send(w, o));
        p->in_call = false;
        json_object_put(o);
}

static void probe_done(Probe *p) {
        json_object_put(p->reply);
        p->reply = NULL;
}

static void test_reply_and_stop(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        json_object *v, *o;
        const WorkerMemory *m;
        unsigned n_sample;
        Probe p;
        LhWorker *w;

        fprintf(stderr, "%s\n", __func__);
        w = start_ready(&p, &spec);
        ASSERT_TRUE(worker_get_started(w) > 0);

        send_cmd(&p, w, "def x := 1", -1);
        ASSERT_EQ(worker_get_state(w), WORKER_BUSY);
        /* one command at a time */
        o = json_object_new_object();
        ASSERT_ERROR(worker_send(w, o), EBUSY);
        json_object_put(o);

        run_until(&p.n_reply, 1, "reply 1");
        ASSERT_TRUE(json_object_object_get_ex(p.reply, "env", &v));
        ASSERT_EQ(json_object_get_int(v), 0);

        send_cmd(&p, w, "def y := x", 0);
        run_until(&p.n_reply, 2, "reply 2");
        ASSERT_TRUE(json_object_object_get_ex(p.reply, "env", &v));
        ASSERT_EQ(json_object_get_int(v), 1);

        /* A sample on demand, and the periodic ones while a command runs
         * (none while idle: test-worker-sample.c). */
        m = worker_sample_now(w);
        ASSERT_TRUE(m && m->valid);
        ASSERT_TRUE(m->rss_kib > 0);
        ASSERT_EQ(m->tier_kib, worker_memory_tier_kib(m));
        n_sample = p.n_sample; /* the sample went to its caller, not to on_sample */
        send_cmd(&p, w, "-- @double sleep 0.6\ndef z := 1", 1);
        run_until(&p.n_sample, n_sample + 3, "periodic samples while busy");
        run_until(&p.n_reply, 3, "reply 3");

        /* Planned stop: the REPL exits on EOF; the requested cause wins. */
        p.in_call = true;
        worker_stop(w, RESTART_CAUSE_IDLE, "idle for 10 min");
        p.in_call = false;
        ASSERT_EQ(worker_get_state(w), WORKER_STOPPING);
        ASSERT_ERROR(worker_send(w, p.reply), EBUSY);
        run_until(&p.n_dead, 1, "stop");
        ASSERT_EQ(p.cause, RESTART_CAUSE_IDLE);
        ASSERT_STREQ(p.reason, "idle for 10 min");
        ASSERT_EQ(p.rss_kib, 0);
        ASSERT_EQ(worker_get_pid(w), 0);

        /* exactly once, and nothing after it */
        p.in_call = true;
        worker_kill(w, RESTART_CAUSE_TIMEOUT, "late");
        worker_stop(w, RESTART_CAUSE_IDLE, "late");
        p.in_call = false;
        run_for(200 * USEC_PER_MSEC);
        ASSERT_EQ(p.n_dead, 1);
        ASSERT_EQ(p.cause, RESTART_CAUSE_IDLE);
        worker_free(w);
        probe_done(&p);
}

/* One command that ends the worker; returns after on_dead. */
static void run_death(Probe *p, const char *code, const WorkerSpec *spec) {
        LhWorker *w = start_ready(p, spec);

        send_cmd(p, w, code, -1);
        run_until(&p->n_dead, 1, code);
        ASSERT_EQ(p->n_reply, 0);
        run_for(100 * USEC_PER_MSEC);
        ASSERT_EQ(p->n_dead, 1);
        worker_free(w);
        probe_done(p);
}

static void test_deaths(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        Probe p;

        fprintf(stderr, "%s\n", __func__);
        run_death(&p, "-- @double exit 3", &spec);
        ASSERT_EQ(p.cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_STREQ(p.reason, "exited with status 3");

        run_death(&p, "-- @double exit 0", &spec);
        ASSERT_EQ(p.cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_STREQ(p.reason, "exited with status 0");

        run_death(&p, "-- @double abort", &spec);
        ASSERT_EQ(p.cause, RESTART_CAUSE_CHILD_ABORT);
        ASSERT_CONTAINS(p.reason, "SIGABRT");

        run_death(&p, "-- @double garbage", &spec);
        ASSERT_EQ(p.cause, RESTART_CAUSE_SESSION_MISSING);
        ASSERT_CONTAINS(p.reason, "protocol");
}

static void test_hard_tier(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        Probe p;

        fprintf(stderr, "%s\n", __func__);
        spec.memory_max_kib = 100 * 1024;
        spec.memory_high_kib = 50 * 1024;
        spec.sample_interval = 100 * USEC_PER_MSEC;
        run_death(&p, "-- @double alloc 200\n-- @double sleep 30\ndef big := 1", &spec);
        ASSERT_EQ(p.cause, RESTART_CAUSE_RSS_HARD_LIMIT);
        ASSERT_EQ(p.limit_kib, 100 * 1024);
        ASSERT_TRUE(p.rss_kib > p.limit_kib);
        ASSERT_CONTAINS(p.reason, "hard tier");
        ASSERT_TRUE(p.n_sample >= 1);

        /* below the tier nothing happens */
        {
                LhWorker *w = start_ready(&p, &spec);

                send_cmd(&p, w, "-- @double alloc 20\n-- @double sleep 0.5\ndef small := 1", -1);
                run_until(&p.n_sample, 3, "samples");
                run_until(&p.n_reply, 1, "small alloc");
                ASSERT_EQ(p.n_dead, 0);
                ASSERT_TRUE(worker_get_memory(w)->anon_kib >= 20 * 1024);
                p.in_call = true;
                worker_free(w);
                p.in_call = false;
                probe_done(&p);
        }
}

static void test_kill(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        Probe p;
        LhWorker *w;

        fprintf(stderr, "%s\n", __func__);
        w = start_ready(&p, &spec);
        send_cmd(&p, w, "-- @double sleep 30\ndef slow := 1", -1);
        run_for(100 * USEC_PER_MSEC);
        p.in_call = true;
        worker_kill(w, RESTART_CAUSE_TIMEOUT, "request timed out after 120 s");
        /* the first requested cause wins */
        worker_kill(w, RESTART_CAUSE_CANCELLED, "cancelled");
        p.in_call = false;
        ASSERT_EQ(p.n_dead, 0);
        run_until(&p.n_dead, 1, "kill");
        ASSERT_EQ(p.cause, RESTART_CAUSE_TIMEOUT);
        ASSERT_STREQ(p.reason, "request timed out after 120 s");
        ASSERT_EQ(p.n_reply, 0);
        worker_free(w);
        probe_done(&p);

        /* Killing right after start, before it is ready. */
        w = start(&p, &spec);
        p.in_call = true;
        worker_kill(w, RESTART_CAUSE_CANCELLED, "cancelled early");
        p.in_call = false;
        run_until(&p.n_dead, 1, "early kill");
        ASSERT_EQ(p.cause, RESTART_CAUSE_CANCELLED);
        ASSERT_EQ(p.n_ready, 0);
        worker_free(w);
        probe_done(&p);
}

/* The whole process group goes: lake runs the REPL as its child. */
static void test_process_group(void) {
        char pidfile[256], script[512], *text = NULL;
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
        WorkerSpec spec = spec_default(argv);
        usec_t deadline;
        Probe p;
        LhWorker *w;
        pid_t grandchild;

        fprintf(stderr, "%s\n", __func__);
        snprintf(pidfile, sizeof pidfile, "%s/sleep.pid", tmp_dir);
        snprintf(script, sizeof script, "sleep 600 & echo $! > %s; exec %s", pidfile, double_path);
        w = start_ready(&p, &spec);
        send_cmd(&p, w, "def x := 1", -1);
        run_until(&p.n_reply, 1, "reply");
        ASSERT_OK(read_full_file(pidfile, 0, &text, NULL));
        grandchild = (pid_t) atoi(text);
        free(text);
        ASSERT_TRUE(grandchild > 0);
        ASSERT_OK(kill(grandchild, 0));

        p.in_call = true;
        worker_kill(w, RESTART_CAUSE_EXPLICIT, "restart");
        p.in_call = false;
        run_until(&p.n_dead, 1, "kill");
        ASSERT_EQ(p.cause, RESTART_CAUSE_EXPLICIT);

        /* The sleep is SIGKILLed (then reaped by whoever inherited it). */
        deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;
        while (!pid_gone(grandchild)) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                usleep(20000);
        }
        worker_free(w);
        probe_done(&p);
}

static void test_exec_failure(void) {
        char *argv[] = { (char *) "/nonexistent/lean-repl-xyz", NULL };
        char *argv2[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        Probe p;
        LhWorker *w;

        fprintf(stderr, "%s\n", __func__);
        w = start(&p, &spec);
        run_until(&p.n_dead, 1, "exec failure");
        ASSERT_EQ(p.n_ready, 0);
        ASSERT_EQ(p.cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_CONTAINS(p.reason, "cannot execute /nonexistent/lean-repl-xyz");
        ASSERT_CONTAINS(p.reason, strerror(ENOENT));
        worker_free(w);
        probe_done(&p);

        /* a project directory that went away */
        spec = spec_default(argv2);
        spec.cwd = "/nonexistent-project-dir";
        w = start(&p, &spec);
        run_until(&p.n_dead, 1, "chdir failure");
        ASSERT_EQ(p.n_ready, 0);
        ASSERT_CONTAINS(p.reason, "/nonexistent-project-dir");
        worker_free(w);
        probe_done(&p);

        /* no argv at all */
        {
                char *empty[] = { NULL };
                LhWorker *x = NULL;

                spec = spec_default(empty);
                ASSERT_ERROR(worker_start(&x, event, NULL, false, &spec, &callbacks, &p), EINVAL);
                /* scope mode required but no placer */
                spec = spec_default(argv2);
                ASSERT_ERROR(worker_start(&x, event, NULL, true, &spec, &callbacks, &p), EOPNOTSUPP);
                ASSERT_TRUE(!x);
        }
}

static void test_stderr(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        uint64_t logged, dropped, total = 0;
        usec_t deadline;
        Probe p;
        LhWorker *w;

        fprintf(stderr, "%s\n", __func__);
        for (unsigned i = 0; i < 40; i++)
                total += (uint64_t) snprintf(NULL, 0, "lean-repl-double: stderr line %u\n", i);
        spec.stderr_max_bytes = 200;
        w = start_ready(&p, &spec);
        send_cmd(&p, w, "-- @double stderr 40\ndef x := 1", -1);
        run_until(&p.n_reply, 1, "reply");

        deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;
        for (;;) {
                worker_get_stderr_stats(w, &logged, &dropped);
                if (logged + dropped >= total)
                        break;
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 50 * USEC_PER_MSEC));
        }
        ASSERT_EQ(logged + dropped, total);
        ASSERT_TRUE(logged <= 200);
        ASSERT_TRUE(logged > 100); /* whole lines up to the bound */
        ASSERT_TRUE(dropped > 0);
        ASSERT_EQ(p.n_dead, 0);
        worker_free(w);
        probe_done(&p);
}

static void test_free_live(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        Probe p;
        LhWorker *w;
        pid_t pid;

        fprintf(stderr, "%s\n", __func__);
        w = start_ready(&p, &spec);
        pid = worker_get_pid(w);
        send_cmd(&p, w, "-- @double sleep 30\ndef slow := 1", -1);
        p.in_call = true;
        w = worker_free(w);
        p.in_call = false;
        ASSERT_TRUE(!w);
        /* reaped synchronously: the pid is gone now */
        ASSERT_TRUE(kill(pid, 0) < 0 && errno == ESRCH);
        run_for(200 * USEC_PER_MSEC);
        ASSERT_EQ(p.n_dead, 0);
        ASSERT_EQ(p.n_reply, 0);
        probe_done(&p);

        /* freed before it was even ready */
        w = start(&p, &spec);
        pid = worker_get_pid(w);
        w = worker_free(w);
        ASSERT_TRUE(kill(pid, 0) < 0 && errno == ESRCH);
        run_for(100 * USEC_PER_MSEC);
        ASSERT_EQ(p.n_dead, 0);
        ASSERT_EQ(p.n_ready, 0);
}

static bool pid_gone(pid_t pid) {
        char path[64], *stat = NULL;
        const char *state;
        bool gone;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        gone = read_full_file(path, 0, &stat, NULL) < 0;
        state = stat ? strrchr(stat, ')') : NULL;
        gone = gone || (state && state[1] == ' ' && state[2] == 'Z');
        free(stat);
        return gone;
}

/* A process-mode worker does not outlive a daemon that dies (SIGKILL). */
static void test_parent_death(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        usec_t deadline;
        int fds[2];
        pid_t helper, pid = 0;

        fprintf(stderr, "%s\n", __func__);
        ASSERT_OK(pipe(fds));
        helper = fork();
        ASSERT_TRUE(helper >= 0);
        if (helper == 0) {
                /* the "daemon": start a worker, tell its pid, die without cleaning up */
                sd_event *e = NULL;
                LhWorker *w = NULL;
                Probe p = {};

                ASSERT_OK(sd_event_new(&e));
                ASSERT_OK(worker_start(&w, e, NULL, false, &spec, &callbacks, &p));
                while (p.n_ready == 0)
                        ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
                pid = worker_get_pid(w);
                /* busy: it would not notice its stdin closing for 60 s */
                send_cmd(&p, w, "-- @double sleep 60\ndef slow := 1", -1);
                ASSERT_OK(sd_event_run(e, 100 * USEC_PER_MSEC));
                ASSERT_TRUE(write(fds[1], &pid, sizeof pid) == (ssize_t) sizeof pid);
                (void) kill(getpid(), SIGKILL);
                _exit(1);
        }
        close(fds[1]);
        ASSERT_TRUE(read(fds[0], &pid, sizeof pid) == (ssize_t) sizeof pid);
        close(fds[0]);
        ASSERT_TRUE(pid > 0);
        ASSERT_TRUE(waitpid(helper, NULL, 0) == helper);

        deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;
        while (!pid_gone(pid)) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                usleep(20000);
        }
}

/* Freeing the worker from inside its own callbacks. */
static LhWorker *reentrant_worker;

static void on_reply_free(LhWorker *w, json_object *reply, void *userdata) {
        Probe *p = userdata;

        (void) reply;
        ASSERT_TRUE(w == reentrant_worker);
        p->n_reply++;
        reentrant_worker = worker_free(w);
}

static void test_free_in_callback(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        WorkerCallbacks cb = callbacks;
        Probe p = {};

        fprintf(stderr, "%s\n", __func__);
        cb.on_reply = on_reply_free;
        ASSERT_OK(worker_start(&reentrant_worker, event, NULL, false, &spec, &cb, &p));
        run_until(&p.n_ready, 1, "ready");
        send_cmd(&p, reentrant_worker, "def x := 1", -1);
        run_until(&p.n_reply, 1, "reply");
        ASSERT_TRUE(!reentrant_worker);
        run_for(100 * USEC_PER_MSEC);
        ASSERT_EQ(p.n_dead, 0);
}

/* No user manager: the placer exists but is unavailable and says why; workers
 * then run in process mode, or not at all when scope mode is required. */
static void test_placer_unavailable(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_default(argv);
        ScopePlacer *placer = NULL;
        const char *reason;
        LhWorker *w = NULL;
        Probe p = {};

        fprintf(stderr, "%s\n", __func__);
        ASSERT_OK(setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/lean-host-test/bus", 1));
        ASSERT_OK(setenv("XDG_RUNTIME_DIR", "/nonexistent/lean-host-test", 1));
        ASSERT_OK(scope_placer_new(&placer, event, "lean-host.slice"));
        ASSERT_FALSE(scope_placer_is_available(placer));
        reason = scope_placer_unavailable_reason(placer);
        fprintf(stderr, "  unavailable: %s\n", reason);
        ASSERT_TRUE(reason && (strstr(reason, "no systemd user manager: ") || strstr(reason, "no memory controller: ")));
        ASSERT_ERROR(scope_placer_stop_stale(placer), EOPNOTSUPP);
        ASSERT_ERROR(scope_placer_stop_unit(placer, "lean-worker-x-1.scope"), EOPNOTSUPP);

        ASSERT_ERROR(worker_start(&w, event, placer, true, &spec, &callbacks, &p), EOPNOTSUPP);
        ASSERT_TRUE(!w);
        ASSERT_OK(worker_start(&w, event, placer, false, &spec, &callbacks, &p));
        ASSERT_EQ(worker_get_mode(w), ENFORCEMENT_MODE_PROCESS);
        ASSERT_TRUE(!worker_get_unit(w));
        run_until(&p.n_ready, 1, "ready without a manager");
        worker_free(w);
        scope_placer_free(placer);
        probe_done(&p);
}

static void test_strings(void) {
        ASSERT_STREQ(worker_state_to_string(WORKER_SPAWNING), "spawning");
        ASSERT_STREQ(worker_state_to_string(WORKER_PLACING), "placing");
        ASSERT_STREQ(worker_state_to_string(WORKER_READY), "ready");
        ASSERT_STREQ(worker_state_to_string(WORKER_BUSY), "busy");
        ASSERT_STREQ(worker_state_to_string(WORKER_STOPPING), "stopping");
        ASSERT_STREQ(worker_state_to_string(WORKER_DEAD), "dead");
        ASSERT_TRUE(!worker_state_to_string(_WORKER_STATE_MAX));
        ASSERT_STREQ(enforcement_mode_to_string(ENFORCEMENT_MODE_SCOPE), "scope");
        ASSERT_STREQ(enforcement_mode_to_string(ENFORCEMENT_MODE_PROCESS), "process");
        ASSERT_TRUE(!enforcement_mode_to_string(_ENFORCEMENT_MODE_MAX));
        ASSERT_EQ(worker_get_state(NULL), WORKER_DEAD);
        ASSERT_TRUE(!worker_free(NULL));
}

int main(void) {
        double_path = test_setup_double(120);
        if (!double_path)
                return EXIT_TEST_SKIP;
        ASSERT_TRUE(mkdtemp(tmp_dir));
        ASSERT_OK(sd_event_new(&event));

        test_strings();
        test_reply_and_stop();
        test_deaths();
        test_hard_tier();
        test_kill();
        test_process_group();
        test_exec_failure();
        test_stderr();
        test_free_live();
        test_free_in_callback();
        test_parent_death();
        test_placer_unavailable();

        event = sd_event_unref(event);
        {
                char path[300];

                snprintf(path, sizeof path, "%s/sleep.pid", tmp_dir);
                (void) unlink(path);
                (void) rmdir(tmp_dir);
        }
        fprintf(stderr, "all worker tests passed\n");
        return 0;
}
