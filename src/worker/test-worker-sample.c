/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* When and at what cost a worker is sampled (process mode, the test double
 * in $LEAN_REPL_DOUBLE): only while a command runs, never while idle; and a
 * sample reads the worker's own tree, so its cost does not grow with the
 * number of processes on the machine. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/test-loop.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "worker/proc-tree.h"
#include "worker/worker-sample.h"
#include "worker/worker.h"

#define WAIT_USEC (15 * USEC_PER_SEC)
#define EXTRA_PROCESSES 1000

static sd_event *event;
static const char *double_path;

typedef struct Probe {
        unsigned n_ready, n_reply, n_dead, n_sample;
} Probe;

static void on_ready(LhWorker *w, void *userdata) {
        ((Probe *) userdata)->n_ready++;
}

static void on_reply(LhWorker *w, json_object *reply, void *userdata) {
        ((Probe *) userdata)->n_reply++;
}

static void on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib, uint64_t limit_kib,
                    void *userdata) {
        ((Probe *) userdata)->n_dead++;
}

static void on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        ASSERT_TRUE(m->valid);
        ((Probe *) userdata)->n_sample++;
}

static const WorkerCallbacks callbacks = {
        .on_ready = on_ready, .on_reply = on_reply, .on_dead = on_dead, .on_sample = on_sample,
};

static LhWorker *start_ready(Probe *p, usec_t interval) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = {
                .argv = argv,
                .cwd = "/",
                .project_id = "5a3p1e00",
                .generation = 1,
                .sample_interval = interval,
                .stderr_max_bytes = 65536,
        };
        LhWorker *w = NULL;

        *p = (Probe) {};
        ASSERT_OK(worker_start(&w, event, NULL, false, &spec, &callbacks, p));
        test_loop_run_until(event, &p->n_ready, 1, "ready", WAIT_USEC);
        return w;
}

static void send_cmd(LhWorker *w, const char *text) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "cmd", json_object_new_string(text));
        ASSERT_OK(worker_send(w, o));
        json_object_put(o);
}

static void test_idle_not_sampled(void) {
        Probe p;
        LhWorker *w;
        unsigned n;

        fprintf(stderr, "%s\n", __func__);
        w = start_ready(&p, 50 * USEC_PER_MSEC);

        /* idle from the start: no timer, no sample */
        test_loop_run_for(event, 600 * USEC_PER_MSEC);
        ASSERT_EQ(p.n_sample, 0);

        /* a running command is sampled every interval */
        send_cmd(w, "-- @double sleep 0.5\ndef a := 1");
        test_loop_run_until(event, &p.n_reply, 1, "reply", WAIT_USEC);
        fprintf(stderr, "  %u samples during a 0.5 s command\n", p.n_sample);
        ASSERT_TRUE(p.n_sample >= 3);

        /* the job end's own sample (the actor's, for the post-job tier): its
         * caller gets it, on_sample does not */
        n = p.n_sample;
        ASSERT_TRUE(worker_sample_now(w)->valid);
        ASSERT_EQ(worker_sample_now(w)->tier_kib, worker_memory_tier_kib(worker_sample_now(w)));
        ASSERT_EQ(p.n_sample, n);

        /* then idle again: nothing fires, however long */
        n = p.n_sample;
        test_loop_run_for(event, 1 * USEC_PER_SEC);
        ASSERT_EQ(p.n_sample, n);

        /* a job of many short commands is still sampled: the time due is kept */
        n = p.n_sample;
        for (unsigned i = 0; i < 6; i++) {
                send_cmd(w, "-- @double sleep 0.03\ndef b := 1");
                test_loop_run_until(event, &p.n_reply, 2 + i, "short reply", WAIT_USEC);
        }
        ASSERT_TRUE(p.n_sample >= n + 2);

        ASSERT_EQ(p.n_dead, 0);
        worker_free(w);
}

/* read(2) calls this process made so far (/proc/self/io syscr). */
static uint64_t read_syscalls(void) {
        _cleanup_free_ char *text = NULL;
        unsigned long long v;
        const char *p;

        ASSERT_OK(read_full_file("/proc/self/io", 0, &text, NULL));
        p = strstr(text, "syscr:");
        ASSERT_TRUE(p && sscanf(p, "syscr: %llu", &v) == 1);
        return v;
}

static uint64_t sample_cost(LhWorker *w) {
        uint64_t before, after;

        (void) worker_sample_now(w); /* warm */
        before = read_syscalls();
        for (unsigned i = 0; i < 5; i++)
                ASSERT_TRUE(worker_sample_now(w)->valid);
        after = read_syscalls();
        return after - before;
}

/* A helper leading its own group, with n sleeping children: processes on the
 * machine that are not the worker's. */
static pid_t spawn_crowd(unsigned n) {
        int p[2];
        pid_t helper;
        char c;

        ASSERT_OK(pipe(p));
        helper = fork();
        ASSERT_TRUE(helper >= 0);
        if (helper == 0) {
                (void) setpgid(0, 0);
                close(p[0]);
                for (unsigned i = 0; i < n; i++) {
                        pid_t k = fork();
                        if (k == 0) {
                                close(p[1]);
                                pause();
                                _exit(0);
                        }
                        if (k < 0)
                                _exit(1);
                }
                (void) !write(p[1], "x", 1);
                pause();
                _exit(0);
        }
        (void) setpgid(helper, helper);
        close(p[1]);
        ASSERT_EQ(read(p[0], &c, 1), 1);
        close(p[0]);
        return helper;
}

static void crowd_kill(pid_t helper) {
        (void) kill(-helper, SIGKILL);
        /* the children may be reparented to us (a subreaper): reap the whole group */
        while (waitpid(-helper, NULL, 0) > 0 || errno == EINTR)
                ;
}

static void test_sample_cost_flat(void) {
        uint64_t few, crowded;
        Probe p;
        LhWorker *w;
        pid_t helper;

        fprintf(stderr, "%s\n", __func__);
        w = start_ready(&p, 30 * USEC_PER_SEC);
        /* the same one extra child of ours (the helper) both times: only the
         * number of other processes on the machine differs */
        helper = spawn_crowd(1);
        few = sample_cost(w);
        crowd_kill(helper);
        helper = spawn_crowd(EXTRA_PROCESSES);
        crowded = sample_cost(w);
        crowd_kill(helper);
        fprintf(stderr, "  read syscalls for 5 samples: %" PRIu64 " with 1, %" PRIu64 " with %d more processes\n",
                few, crowded, EXTRA_PROCESSES);
        ASSERT_TRUE(few > 0);
        /* a scan of /proc would read each of the 1000 once per sample */
        ASSERT_TRUE(crowded <= few + 2);
        worker_free(w);
}

/* The root of a test tree: on each byte from cmd it forks a child that
 * touches 32 MiB of anonymous memory, sends its pid on out and waits. */
static pid_t spawn_forker(int *ret_cmd, int *ret_out) {
        int c[2], o[2];
        pid_t root;

        ASSERT_OK(pipe(c));
        ASSERT_OK(pipe(o));
        root = fork();
        ASSERT_TRUE(root >= 0);
        if (root == 0) {
                char x;

                /* a failed assertion leaves nothing behind */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                close(c[1]);
                close(o[0]);
                while (read(c[0], &x, 1) == 1) {
                        pid_t k = fork();

                        if (k == 0) {
                                size_t n = 32 * 1024 * 1024;
                                char *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                                pid_t self = getpid();

                                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                                if (m == MAP_FAILED)
                                        _exit(1);
                                for (size_t i = 0; i < n; i += 4096)
                                        m[i] = 1;
                                (void) !write(o[1], &self, sizeof self);
                                pause();
                                _exit(0);
                        }
                }
                _exit(0);
        }
        close(c[0]);
        close(o[1]);
        *ret_cmd = c[1];
        *ret_out = o[0];
        return root;
}

/* The process-mode tree rule (worker-sample.c): the walk is reused while no
 * process was created, with the same numbers; a process forked since (during
 * a job) is walked to and counted by the very next sample. */
static void test_tree_rule(void) {
        WorkerSampler s = {};
        WorkerTree t;
        WorkerMemory m0, m;
        int cmd, out;
        pid_t root, child;
        unsigned i, walks;
        bool tracked = false;

        fprintf(stderr, "%s\n", __func__);
        root = spawn_forker(&cmd, &out);
        ASSERT_OK(worker_tree_init(&t, NULL, "5a3p1e00", 1));
        t.leader = root;

        ASSERT_OK(worker_sampler_read(&s, root, &t, &m0));
        ASSERT_EQ(s.n_walks, 1u);
        /* other work on the machine forks too: within a few tries some pair
         * of samples has no process created between them */
        for (i = 0; i < 1000 && s.n_reused == 0; i++) {
                ASSERT_OK(worker_sampler_read(&s, root, &t, &m));
                ASSERT_EQ(m.anon_kib, m0.anon_kib);
                ASSERT_EQ(m.rss_kib, m0.rss_kib);
        }
        fprintf(stderr, "  reused after %u samples (%u walks)\n", i, s.n_walks);
        ASSERT_TRUE(s.n_reused > 0);

        /* a child forked "during the job": counted by the next sample */
        walks = s.n_walks;
        ASSERT_EQ(write(cmd, "f", 1), 1);
        ASSERT_EQ(read(out, &child, sizeof child), (ssize_t) sizeof child);
        ASSERT_OK(worker_sampler_read(&s, root, &t, &m));
        fprintf(stderr, "  anon %" PRIu64 " KiB before the fork, %" PRIu64 " KiB after\n", m0.anon_kib, m.anon_kib);
        ASSERT_EQ(s.n_walks, walks + 1);
        ASSERT_TRUE(m.anon_kib >= m0.anon_kib + 30 * 1024);
        for (size_t k = 0; k < t.n_procs; k++)
                tracked = tracked || t.procs[k].pid == child;
        ASSERT_TRUE(tracked);

        /* the root gone: no sample, walked or reused */
        (void) kill(child, SIGKILL);
        (void) kill(root, SIGKILL);
        ASSERT_EQ(waitpid(root, NULL, 0), root);
        ASSERT_ERROR(worker_sampler_read(&s, root, &t, &m), ESRCH);
        close(cmd);
        close(out);
        worker_tree_done(&t);
        worker_sampler_done(&s);
}

int main(void) {
        test_tree_rule();
        double_path = test_setup_double(120);
        if (!double_path)
                return EXIT_TEST_SKIP;
        ASSERT_OK(sd_event_new(&event));

        test_idle_not_sampled();
        test_sample_cost_flat();

        event = sd_event_unref(event);
        fprintf(stderr, "all worker sampling tests passed\n");
        return 0;
}
