/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Workers in transient scopes on a private user manager. Not a unit test:
 * tests/integration/test_worker_scope.py runs it inside
 * tests/harness/with-user-systemd (root, namespaces). Needs $LEAN_REPL_DOUBLE.
 *
 * Checks: the placer is available; a worker runs in
 * lean-worker-<id>-<owner pid>-<owner start>-<gen>.scope with MemoryMax/MemorySwapMax=0; a kernel OOM kill
 * at MemoryMax is classified rss_hard_limit_exceeded; scopes are gone after
 * their worker dies (stop, kill, OOM, free); placement conflicts fall back to
 * process mode or fail with worker_internal when scope mode is required;
 * scope_placer_stop_stale() stops a leftover lean-worker-*.scope, but not
 * one whose owning daemon still runs. */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "basic/fileio.h"
#include "basic/test-loop.h"
#include "basic/tests.h"
#include "worker/test-worker-util.h"
#include "basic/time-util.h"
#include "worker/proc-tree.h"
#include "worker/scope.h"
#include "worker/worker.h"

#define WAIT_USEC (30 * USEC_PER_SEC)
#define MIB 1024

static sd_event *event;
static ScopePlacer *placer;
static const char *double_path;


static void on_ready(LhWorker *w, void *userdata) {
        ((Probe *) userdata)->n_ready++;
        (void) w;
}

static void on_reply(LhWorker *w, json_object *reply, void *userdata) {
        Probe *p = userdata;

        probe_note_reply(p, reply);
}

static void on_dead(LhWorker *w, RestartCause cause, const char *reason, uint64_t rss_kib, uint64_t limit_kib,
                    void *userdata) {
        Probe *p = userdata;

        probe_note_dead(p, cause, reason, rss_kib, limit_kib);
}

static void on_sample(LhWorker *w, const WorkerMemory *m, void *userdata) {
        Probe *p = userdata;

        (void) w;
        snprintf(p->source, sizeof p->source, "%s", m->source);
        p->n_sample++;
}

static const WorkerCallbacks callbacks = {
        .on_ready = on_ready, .on_reply = on_reply, .on_dead = on_dead, .on_sample = on_sample,
};

static void run_until(const unsigned *counter, unsigned want, const char *what) {
        test_loop_run_until(event, counter, want, what, WAIT_USEC);
}

static void run_for(usec_t t) {
        test_loop_run_for(event, t);
}

/* systemctl --user show -p PROP --value UNIT (blocking: fine in a test). */
static void unit_prop(const char *unit, const char *prop, char *buf, size_t size) {
        char cmd[512];
        FILE *f;
        size_t n;

        snprintf(cmd, sizeof cmd, "systemctl --user show -p %s --value %s 2>/dev/null", prop, unit);
        f = popen(cmd, "r");
        ASSERT_TRUE(f);
        n = fread(buf, 1, size - 1, f);
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = 0;
        (void) pclose(f);
}

static bool unit_gone(const char *unit) {
        char load[64], active[64];

        unit_prop(unit, "LoadState", load, sizeof load);
        unit_prop(unit, "ActiveState", active, sizeof active);
        return streq(load, "not-found") || streq(active, "inactive") || streq(active, "failed");
}

/* Keep the loop running (StopUnit replies) until the unit is gone. */
static void wait_unit_gone(const char *unit) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;

        while (!unit_gone(unit)) {
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        fprintf(stderr, "%s still there\n", unit);
                        abort();
                }
                run_for(100 * USEC_PER_MSEC);
        }
        fprintf(stderr, "  %s is gone\n", unit);
}

/* The unit name this placer gives generation gen of project "feedbeef". */
static const char *unit_for(uint64_t gen) {
        static char buf[4][128];
        static unsigned next;
        char *u = NULL, *b = buf[next++ % ELEMENTSOF(buf)];

        ASSERT_OK(scope_placer_unit_name(placer, "feedbeef", gen, &u));
        snprintf(b, sizeof buf[0], "%s", u);
        free(u);
        return b;
}

static WorkerSpec spec_for(char **argv, uint64_t gen) {
        return (WorkerSpec) {
                .argv = argv,
                .cwd = "/",
                .project_id = "feedbeef",
                .description = "Lean worker for /tmp/project (test)",
                .generation = gen,
                .memory_high_kib = 80 * MIB,
                .memory_max_kib = 120 * MIB,
                .sample_interval = 250 * USEC_PER_MSEC,
                .stderr_max_bytes = 65536,
                .slice = "lean-host.slice",
        };
}

static void send_cmd(LhWorker *w, const char *text) {
        json_object *o = json_object_new_object();

        json_object_object_add(o, "cmd", json_object_new_string(text));
        ASSERT_OK(worker_send(w, o));
        json_object_put(o);
}

static void probe_done(Probe *p) {
        json_object_put(p->reply);
        *p = (Probe) {};
}

static void test_stale(void) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;
        char active[64];

        fprintf(stderr, "%s\n", __func__);
        ASSERT_EQ(system("systemd-run --user --scope --unit lean-worker-stale-1.scope sleep 600 "
                         ">/dev/null 2>&1 </dev/null &"), 0);
        for (;;) {
                unit_prop("lean-worker-stale-1.scope", "ActiveState", active, sizeof active);
                if (streq(active, "active"))
                        break;
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                usleep(50000);
        }
        ASSERT_OK(scope_placer_stop_stale(placer));
        wait_unit_gone("lean-worker-stale-1.scope");
}

static void start_scope(const char *unit) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + WAIT_USEC;
        char cmd[512], active[64];

        snprintf(cmd, sizeof cmd, "systemd-run --user --scope --unit %s sleep 600 >/dev/null 2>&1 </dev/null &", unit);
        ASSERT_EQ(system(cmd), 0);
        for (;;) {
                unit_prop(unit, "ActiveState", active, sizeof active);
                if (streq(active, "active"))
                        break;
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                usleep(50000);
        }
}

/* Only scopes whose owning daemon is gone are left behind: those of a
 * running one (here: our parent, named as owner) are not touched. */
static void test_stale_owner(void) {
        char live[128], dead[128], buf[256];
        pid_t owner, gone;
        ProcStat st;

        fprintf(stderr, "%s\n", __func__);
        owner = getppid();
        ASSERT_OK(proc_stat_read(owner, &st));
        snprintf(live, sizeof live, "lean-worker-0123456789abcdef-%i-%" PRIu64 "-1.scope", (int) owner, st.starttime);
        gone = fork();
        ASSERT_TRUE(gone >= 0);
        if (gone == 0)
                _exit(0);
        ASSERT_EQ(waitpid(gone, NULL, 0), gone);
        snprintf(dead, sizeof dead, "lean-worker-0123456789abcdef-%i-%" PRIu64 "-1.scope", (int) gone, st.starttime);

        pid_t pid;
        uint64_t start;
        ASSERT_OK(scope_unit_parse_owner(live, &pid, &start));
        ASSERT_EQ(pid, owner);
        ASSERT_EQ(start, st.starttime);
        ASSERT_ERROR(scope_unit_parse_owner("lean-worker-stale-1.scope", &pid, &start), EINVAL);
        /* our own names are unique per daemon and name us */
        ASSERT_OK(scope_unit_parse_owner(unit_for(7), &pid, &start));
        ASSERT_EQ(pid, getpid());

        start_scope(live);
        start_scope(dead);
        ASSERT_OK(scope_placer_stop_stale(placer));
        wait_unit_gone(dead);
        run_for(500 * USEC_PER_MSEC);
        unit_prop(live, "ActiveState", buf, sizeof buf);
        ASSERT_STREQ(buf, "active");
        snprintf(buf, sizeof buf, "systemctl --user stop %s", live);
        ASSERT_EQ(system(buf), 0);
        wait_unit_gone(live);
}

static void test_scope_lifecycle(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_for(argv, 1);
        char buf[256], path[64], *cg = NULL;
        const WorkerMemory *m;
        LhWorker *w = NULL;
        json_object *v;
        Probe p = {};

        fprintf(stderr, "%s\n", __func__);
        ASSERT_OK(worker_start(&w, event, placer, true, &spec, &callbacks, &p));
        ASSERT_EQ(worker_get_mode(w), ENFORCEMENT_MODE_SCOPE);
        ASSERT_STREQ(worker_get_unit(w), unit_for(1));
        ASSERT_EQ(worker_get_state(w), WORKER_PLACING);
        run_until(&p.n_ready, 1, "ready in scope");
        ASSERT_EQ(worker_get_mode(w), ENFORCEMENT_MODE_SCOPE);

        /* the process is in the scope, with the limits */
        snprintf(path, sizeof path, "/proc/%d/cgroup", (int) worker_get_pid(w));
        ASSERT_OK(read_full_file(path, 0, &cg, NULL));
        fprintf(stderr, "  cgroup:\n%s", cg);
        snprintf(buf, sizeof buf, "lean-host.slice/%s", unit_for(1));
        ASSERT_CONTAINS(cg, buf);
        free(cg);
        unit_prop(unit_for(1), "MemoryMax", buf, sizeof buf);
        ASSERT_STREQ(buf, "125829120");
        /* no MemoryHigh (it would throttle a job above it on v2), no swap */
        unit_prop(unit_for(1), "MemoryHigh", buf, sizeof buf);
        ASSERT_STREQ(buf, "infinity");
        unit_prop(unit_for(1), "MemorySwapMax", buf, sizeof buf);
        ASSERT_STREQ(buf, "0");
        unit_prop(unit_for(1), "Description", buf, sizeof buf);
        ASSERT_STREQ(buf, "Lean worker for /tmp/project (test)");
        unit_prop(unit_for(1), "CollectMode", buf, sizeof buf);
        ASSERT_STREQ(buf, "inactive-or-failed");

        send_cmd(w, "-- @double alloc 20\ndef x := 1");
        run_until(&p.n_reply, 1, "reply");
        ASSERT_TRUE(json_object_object_get_ex(p.reply, "env", &v));

        /* sampled from the scope's cgroup */
        m = worker_sample_now(w);
        ASSERT_TRUE(m->valid);
        fprintf(stderr, "  sample: source=%s rss=%" PRIu64 " anon=%" PRIu64 " file=%" PRIu64 "\n", m->source,
                m->rss_kib, m->anon_kib, m->file_kib);
        ASSERT_TRUE(strncmp(m->source, "cgroup-", 7) == 0);
        ASSERT_TRUE(m->anon_kib >= 20 * MIB);

        worker_stop(w, RESTART_CAUSE_IDLE, "idle");
        run_until(&p.n_dead, 1, "stop");
        ASSERT_EQ(p.cause, RESTART_CAUSE_IDLE);
        wait_unit_gone(unit_for(1));
        worker_free(w);
        probe_done(&p);
}

static void test_oom_kill(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_for(argv, 2);
        LhWorker *w = NULL;
        Probe p = {};

        fprintf(stderr, "%s\n", __func__);
        /* The sampler must not get there first: the kernel does it here. */
        spec.sample_interval = 30 * USEC_PER_SEC;
        ASSERT_OK(worker_start(&w, event, placer, true, &spec, &callbacks, &p));
        run_until(&p.n_ready, 1, "ready");
        send_cmd(w, "-- @double alloc 400\n-- @double sleep 30\ndef big := 1");
        run_until(&p.n_dead, 1, "OOM kill");
        ASSERT_EQ(p.cause, RESTART_CAUSE_RSS_HARD_LIMIT);
        ASSERT_CONTAINS(p.reason, "OOM killer");
        ASSERT_EQ(p.limit_kib, 120 * MIB);
        ASSERT_TRUE(p.rss_kib >= p.limit_kib * 9 / 10);
        ASSERT_EQ(p.n_reply, 0);
        wait_unit_gone(unit_for(2));
        worker_free(w);
        probe_done(&p);
}

static void test_kill_and_free(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_for(argv, 3);
        LhWorker *w = NULL;
        Probe p = {};

        fprintf(stderr, "%s\n", __func__);
        ASSERT_OK(worker_start(&w, event, placer, true, &spec, &callbacks, &p));
        run_until(&p.n_ready, 1, "ready");
        send_cmd(w, "-- @double sleep 30\ndef slow := 1");
        worker_kill(w, RESTART_CAUSE_TIMEOUT, "timed out");
        ASSERT_EQ(p.n_dead, 0);
        run_until(&p.n_dead, 1, "kill");
        ASSERT_EQ(p.cause, RESTART_CAUSE_TIMEOUT);
        wait_unit_gone(unit_for(3));
        worker_free(w);
        probe_done(&p);

        /* freeing a live worker stops its scope (daemon shutdown) */
        spec = spec_for(argv, 4);
        ASSERT_OK(worker_start(&w, event, placer, true, &spec, &callbacks, &p));
        run_until(&p.n_ready, 1, "ready");
        w = worker_free(w);
        wait_unit_gone(unit_for(4));
        ASSERT_EQ(p.n_dead, 0);
        probe_done(&p);

        /* freed while the placement is still pending */
        spec = spec_for(argv, 5);
        ASSERT_OK(worker_start(&w, event, placer, true, &spec, &callbacks, &p));
        ASSERT_EQ(worker_get_state(w), WORKER_PLACING);
        w = worker_free(w);
        run_for(500 * USEC_PER_MSEC);
        wait_unit_gone(unit_for(5));
        ASSERT_EQ(p.n_dead + p.n_ready, 0);
        probe_done(&p);
}

static void test_placement_conflict(void) {
        char *argv[] = { (char *) double_path, NULL };
        WorkerSpec spec = spec_for(argv, 6);
        LhWorker *a = NULL, *b = NULL, *c = NULL;
        Probe pa = {}, pb = {}, pc = {};

        fprintf(stderr, "%s\n", __func__);
        ASSERT_OK(worker_start(&a, event, placer, true, &spec, &callbacks, &pa));
        run_until(&pa.n_ready, 1, "ready a");

        /* same unit name: StartTransientUnit fails */
        ASSERT_OK(worker_start(&b, event, placer, false, &spec, &callbacks, &pb));
        run_until(&pb.n_ready, 1, "ready b (process mode)");
        ASSERT_EQ(worker_get_mode(b), ENFORCEMENT_MODE_PROCESS);
        ASSERT_TRUE(!worker_get_unit(b));

        ASSERT_OK(worker_start(&c, event, placer, true, &spec, &callbacks, &pc));
        run_until(&pc.n_dead, 1, "c fails");
        ASSERT_EQ(pc.cause, RESTART_CAUSE_WORKER_INTERNAL);
        ASSERT_CONTAINS(pc.reason, unit_for(6));
        ASSERT_EQ(pc.n_ready, 0);

        /* a's scope survived the failed attempts */
        ASSERT_FALSE(unit_gone(unit_for(6)));
        send_cmd(a, "def x := 1");
        run_until(&pa.n_reply, 1, "a still works");

        c = worker_free(c);
        b = worker_free(b);
        a = worker_free(a);
        wait_unit_gone(unit_for(6));
        probe_done(&pa);
        probe_done(&pb);
        probe_done(&pc);
}

int main(void) {
        double_path = test_setup_double(300);
        if (!double_path)
                return EXIT_FAILURE; /* run by test_worker_scope.py, which has one */
        ASSERT_OK(sd_event_new(&event));

        ASSERT_OK(scope_placer_new(&placer, event, "lean-host.slice"));
        if (!scope_placer_is_available(placer)) {
                fprintf(stderr, "scope placer unavailable: %s\n", scope_placer_unavailable_reason(placer));
                return EXIT_FAILURE;
        }
        ASSERT_TRUE(!scope_placer_unavailable_reason(placer));

        test_stale();
        test_stale_owner();
        test_scope_lifecycle();
        test_oom_kill();
        test_kill_and_free();
        test_placement_conflict();

        placer = scope_placer_free(placer);
        event = sd_event_unref(event);
        fprintf(stderr, "all scope tests passed\n");
        return 0;
}
