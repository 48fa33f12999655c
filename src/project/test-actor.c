/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The project actor against real process-mode workers running the test
 * double (tests/double/lean-repl-double, path in $LEAN_REPL_DOUBLE). */

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "project/project.h"
#include "project/test-project-util.h"

#define MIB KIB_PER_MIB

static LhConfig config;
static sd_event *event;
static char project_dir[] = "/tmp/lh-test-actor-XXXXXX";
static char other_dir[] = "/tmp/lh-test-actor-other-XXXXXX";
static char nolake_dir[] = "/tmp/lh-test-actor-nolake-XXXXXX";
static unsigned done_seq;

/* ---- a job that runs one snippet ----------------------------------------- */

typedef struct Call {
        const char *code;       /* first attempt */
        const char *retry_code; /* on the retry (retry_count > 0), if set */
        char **imports;
        JobFlags flags;
        LhJob *job;

        unsigned n_done;
        unsigned seq;           /* order of done() */
        bool ok;
        char code_err[64];
        bool retryable;
        LhError err;            /* copy (details dropped) */
        LhFacts facts;
        int base_env;
        int reply_env;
        LhProject *resubmit_to; /* done() submits this one (re-entrancy) */
        struct Call *resubmit;
        int resubmit_r;
} Call;

static int call_start(LhJob *job, void *userdata, int base_env, json_object **ret) {
        Call *c = userdata;

        c->base_env = base_env;
        ASSERT_EQ(base_env, job_get_base_env(job));
        *ret = test_job_command(job, job_get_retry_count(job) > 0 && c->retry_code ? c->retry_code : c->code);
        return 0;
}

static int call_step(LhJob *job, void *userdata, json_object *reply, json_object **ret) {
        Call *c = userdata;
        json_object *v;

        if (json_object_object_get_ex(reply, "env", &v))
                c->reply_env = json_object_get_int(v);
        job_set_result(job, json_object_get(reply));
        return 1;
}

static int submit(LhProject *p, Call *c, LhError *err);

static void call_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        Call *c = userdata;

        c->n_done++;
        c->seq = ++done_seq;
        c->ok = !err;
        ASSERT_TRUE(!!result != !!err);
        if (err) {
                c->err = *err;
                c->err.details = NULL;
                snprintf(c->code_err, sizeof c->code_err, "%s", err->code);
                c->retryable = err->retryable;
        }
        c->facts = *facts;
        if (c->resubmit) {
                LhError e = {};

                c->resubmit_r = submit(c->resubmit_to, c->resubmit, &e);
                if (c->resubmit_r < 0)
                        snprintf(c->resubmit->code_err, sizeof c->resubmit->code_err, "%s", strempty(e.code));
        }
}

static const JobOps call_ops = {
        .start = call_start,
        .step = call_step,
        .done = call_done,
};

static int submit(LhProject *p, Call *c, LhError *err) {
        LhJob *j;
        int r;

        c->reply_env = -1;
        c->base_env = -2;
        ASSERT_OK(job_new(&j, c->imports, c->flags, &call_ops, c));
        r = project_submit(p, j, err);
        if (r < 0)
                j = job_unref(j);
        c->job = j;
        return r;
}

static void call_release(Call *c) {
        c->job = job_unref(c->job);
}

static void run_for(usec_t usec) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + usec;

        for (usec_t now; (now = now_usec(CLOCK_MONOTONIC)) < end;)
                ASSERT_OK(sd_event_run(event, end - now));
}

static void wait_done(Call *c) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;

        while (c->n_done == 0) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        }
        ASSERT_EQ(c->n_done, 1);
}

static void wait_state(LhProject *p, ProjectState s) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;

        while (project_get_state(p) != s) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 20 * USEC_PER_MSEC));
        }
}

static void wait_quiet(LhRegistry *r) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;

        while (!registry_is_quiet(r)) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 20 * USEC_PER_MSEC));
        }
}

/* run code and expect success */
static LhFacts run_ok(LhProject *p, const char *code, char **imports) {
        Call c = { .code = code, .imports = imports };

        ASSERT_OK(submit(p, &c, NULL));
        wait_done(&c);
        if (!c.ok)
                fprintf(stderr, "call failed: %s: %s\n", c.code_err, c.err.message);
        ASSERT_TRUE(c.ok);
        call_release(&c);
        return c.facts;
}

static void setup(LhRegistry **ret_r, LhProject **ret_p) {
        _cleanup_(lh_error_done) LhError err = {};

        ASSERT_OK(registry_new(ret_r, event, &config, NULL));
        ASSERT_OK(registry_resolve(*ret_r, project_dir, ret_p, &err));
}

/* ---- tests ------------------------------------------------------------------- */

static void test_resolve(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_free_ char *sub = NULL, *file = NULL, *missing = NULL, *canon = NULL;
        LhProject *p, *q;
        LhError err = {};

        ASSERT_OK(registry_new(&r, event, &config, NULL));

        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        ASSERT_OK(path_canonicalize(project_dir, &canon));
        ASSERT_STREQ(project_get_root(p), canon);
        ASSERT_EQ(strlen(project_get_id(p)), 16);
        for (const char *c = project_get_id(p); *c; c++)
                ASSERT_TRUE((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));

        sub = path_join(project_dir, "Foo");
        file = path_join(project_dir, "Foo/Bar.lean");
        ASSERT_OK(registry_resolve(r, file, &q, &err));
        ASSERT_TRUE(p == q);
        ASSERT_OK(registry_resolve(r, sub, &q, &err));
        ASSERT_TRUE(p == q);
        ASSERT_EQ(registry_get_n_projects(r), 1);
        ASSERT_TRUE(registry_find_by_id(r, project_get_id(p)) == p);
        ASSERT_TRUE(registry_get_project(r, 0) == p);
        ASSERT_TRUE(registry_get_project(r, 1) == NULL);

        /* the id is a stable hash of the root: another registry agrees */
        {
                _cleanup_(registry_freep) LhRegistry *r2 = NULL;
                ASSERT_OK(registry_new(&r2, event, &config, NULL));
                ASSERT_OK(registry_resolve(r2, file, &q, &err));
                ASSERT_STREQ(project_get_id(q), project_get_id(p));
        }

        ASSERT_TRUE(registry_resolve(r, nolake_dir, &q, &err) < 0);
        ASSERT_STREQ(err.code, "project_not_found");
        ASSERT_CONTAINS(err.message, nolake_dir);

        missing = path_join(project_dir, "does/not/exist");
        ASSERT_TRUE(registry_resolve(r, missing, &q, &err) < 0);
        ASSERT_STREQ(err.code, "project_not_found");
        ASSERT_CONTAINS(err.message, missing);

        ASSERT_TRUE(registry_resolve(r, "relative/path", &q, &err) < 0);
        ASSERT_STREQ(err.code, "project_not_found");
        ASSERT_TRUE(registry_resolve(r, "", &q, &err) < 0);
        ASSERT_EQ(registry_get_n_projects(r), 1);

        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        ASSERT_TRUE(p != q);
        ASSERT_EQ(registry_get_n_projects(r), 2);
        ASSERT_TRUE(!streq(project_get_id(p), project_get_id(q)));

        ASSERT_EQ(project_get_state(p), PROJECT_IDLE);
        ASSERT_TRUE(registry_is_quiet(r));
}

static void test_order_and_mailbox(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        LhProject *p;
        Call calls[9] = {}, extra = { .code = "def extra := 1" };
        char codes[9][64];
        LhError err = {};

        setup(&r, &p);
        for (unsigned i = 0; i < 8; i++) {
                snprintf(codes[i], sizeof codes[i], "-- @double sleep 0.02\ndef a%u := %u", i, i);
                calls[i].code = codes[i];
                ASSERT_OK(submit(p, calls + i, &err));
                ASSERT_EQ(project_get_queue_depth(p), i + 1);
        }
        /* done() of the last one submits another: re-entrancy */
        calls[7].resubmit_to = p;
        calls[7].resubmit = &extra;

        calls[8].code = "def nine := 9";
        ASSERT_ERROR(submit(p, calls + 8, &err), EBUSY);
        ASSERT_STREQ(err.code, "mailbox_full");
        ASSERT_TRUE(err.retryable);
        ASSERT_CONTAINS(err.message, "capacity 8");

        for (unsigned i = 0; i < 8; i++)
                wait_done(calls + i);
        wait_done(&extra);
        ASSERT_EQ(calls[8].n_done, 0);
        ASSERT_EQ(calls[7].resubmit_r, 0);
        for (unsigned i = 0; i < 8; i++) {
                ASSERT_TRUE(calls[i].ok);
                ASSERT_EQ(calls[i].seq, calls[0].seq + i); /* in order */
                ASSERT_EQ(calls[i].facts.worker_generation, 1);
                ASSERT_EQ(calls[i].facts.retry_count, 0);
                ASSERT_FALSE(calls[i].facts.worker_restarted);
                call_release(calls + i);
        }
        ASSERT_TRUE(calls[7].facts.queue_wait_millis >= calls[1].facts.queue_wait_millis);
        ASSERT_TRUE(calls[7].facts.queue_wait_millis >= 100); /* waited behind 7 × 20 ms */
        ASSERT_TRUE(extra.ok);
        call_release(&extra);
        ASSERT_EQ(registry_get_workers_active(r), 1);
        ASSERT_EQ(project_get_state(p), PROJECT_IDLE);
}

static unsigned n_changed;
static ProjectChange changed;

static void on_changed(LhProject *p, ProjectChange what, void *userdata) {
        n_changed++;
        changed |= what;
}

/* One dispatch of the actor tells its observers once: the job queued, taken
 * and sent to the warm worker are one change, heard at the end of the kick. */
static void test_notify_coalesced(void) {
        static const RegistryObserver observer = { .project_changed = on_changed };
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call c = { .code = "-- @double sleep 0.05\ndef late := 1" };
        LhProject *p;

        setup(&r, &p);
        run_ok(p, "def warm := 1", NULL);
        wait_state(p, PROJECT_IDLE);
        run_for(50 * USEC_PER_MSEC); /* the kick after that job ran */
        registry_set_observer(r, &observer, NULL);
        n_changed = 0;
        changed = 0;
        ASSERT_OK(submit(p, &c, NULL));
        ASSERT_EQ(n_changed, 0u); /* queued: told with the kick's own changes */
        while (n_changed == 0)
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        ASSERT_EQ(n_changed, 1u);
        ASSERT_TRUE(changed & PROJECT_CHANGE_STATE);
        ASSERT_EQ(project_get_state(p), PROJECT_BUSY);
        ASSERT_EQ(c.n_done, 0u);
        wait_done(&c);
        ASSERT_TRUE(c.ok);
        call_release(&c);
        registry_set_observer(r, NULL, NULL);
}

static void test_import_profiles(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        char *alpha[] = { (char *) "Alpha", NULL }, *beta[] = { (char *) "Beta", (char *) "Gamma", NULL };
        char *missing[] = { (char *) "Missing.Thing", NULL };
        Call a = { .code = "def a := 1", .imports = alpha }, b = { .code = "def b := 1", .imports = alpha },
             c = { .code = "def c := 1", .imports = beta }, d = { .code = "def d := 1", .imports = alpha },
             m = { .code = "def m := 1", .imports = missing }, n = { .code = "def n := 1" };
        LhProject *p;
        LhFacts f;

        setup(&r, &p);

        /* header once per profile, its env reused */
        ASSERT_OK(submit(p, &a, NULL));
        wait_done(&a);
        ASSERT_TRUE(a.ok);
        ASSERT_EQ(a.base_env, 0); /* the header's env */
        ASSERT_EQ(a.reply_env, 1);
        ASSERT_STREQ(a.facts.import_profile, "Alpha");

        ASSERT_OK(submit(p, &b, NULL));
        wait_done(&b);
        ASSERT_TRUE(b.ok);
        ASSERT_EQ(b.base_env, 0);
        ASSERT_EQ(b.reply_env, 2); /* no second header in between */
        ASSERT_EQ(b.facts.profile_switch_count, 0);

        ASSERT_OK(submit(p, &c, NULL));
        wait_done(&c);
        ASSERT_TRUE(c.ok);
        ASSERT_EQ(c.base_env, 3);
        ASSERT_EQ(c.reply_env, 4);
        ASSERT_STREQ(c.facts.import_profile, "Beta,Gamma");
        ASSERT_EQ(c.facts.profile_switch_count, 1);

        /* back to a profile the worker holds: no header */
        ASSERT_OK(submit(p, &d, NULL));
        wait_done(&d);
        ASSERT_TRUE(d.ok);
        ASSERT_EQ(d.base_env, 0);
        ASSERT_EQ(d.reply_env, 5);
        ASSERT_EQ(d.facts.profile_switch_count, 2);
        ASSERT_EQ(d.facts.worker_generation, 1); /* below the soft tier: reused */

        /* an import the project does not have */
        ASSERT_OK(submit(p, &m, NULL));
        wait_done(&m);
        ASSERT_FALSE(m.ok);
        ASSERT_STREQ(m.code_err, "import_failed");
        ASSERT_CONTAINS(m.err.message, "Missing");
        ASSERT_EQ(m.base_env, -2); /* start() never called */

        /* no imports: the empty profile gets its own env */
        ASSERT_OK(submit(p, &n, NULL));
        wait_done(&n);
        ASSERT_TRUE(n.ok);
        ASSERT_TRUE(n.base_env >= 0);
        ASSERT_EQ(n.facts.worker_generation, 1);

        project_get_facts(p, &f);
        ASSERT_EQ(f.restarts_total, 0);
        ASSERT_TRUE(f.worker_pid > 0);
        ASSERT_EQ(f.enforcement, ENFORCEMENT_MODE_PROCESS);

        Call *all[] = { &a, &b, &c, &d, &m, &n };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                call_release(all[i]);
}

static void test_import_switch(void) {
        char *alpha[] = { (char *) "Alpha", NULL }, *beta[] = { (char *) "Beta", NULL };
        LhFacts f1, f2, f3;

        /* above the soft tier (40 MiB): recycled before the job with other imports */
        {
                _cleanup_(registry_freep) LhRegistry *r = NULL;
                LhProject *p;

                setup(&r, &p);
                f1 = run_ok(p, "-- @double alloc 60\n-- @double sleep 0.15\ndef a := 1", alpha);
                ASSERT_EQ(f1.worker_generation, 1);
                ASSERT_FALSE(f1.call_restart.valid); /* 60 MiB is below the post-job tier */
                f2 = run_ok(p, "def a2 := 1", alpha);
                ASSERT_EQ(f2.worker_generation, 1);
                f3 = run_ok(p, "def b := 1", beta);
                ASSERT_EQ(f3.worker_generation, 2);
                ASSERT_TRUE(f3.worker_restarted);
                ASSERT_TRUE(f3.call_restart.valid);
                ASSERT_EQ(f3.call_restart.cause, RESTART_CAUSE_RSS_IMPORT_SWITCH);
                ASSERT_TRUE(f3.call_restart.planned);
                ASSERT_EQ(f3.call_restart.limit_kib, 40 * MIB);
                ASSERT_TRUE(f3.call_restart.rss_kib >= 40 * MIB);
                ASSERT_EQ(f3.last_restart.cause, RESTART_CAUSE_RSS_IMPORT_SWITCH);
                ASSERT_EQ(f3.profile_switch_count, 1);
                ASSERT_EQ(f3.restarts_by_cause[RESTART_CAUSE_RSS_IMPORT_SWITCH], 1);
                ASSERT_EQ(f3.restarts_in_window, 0); /* planned */
        }

        /* below it: the worker is reused and the switch counted */
        {
                _cleanup_(registry_freep) LhRegistry *r = NULL;
                LhProject *p;

                setup(&r, &p);
                f1 = run_ok(p, "def a := 1", alpha);
                f2 = run_ok(p, "def b := 1", beta);
                ASSERT_EQ(f2.worker_generation, f1.worker_generation);
                ASSERT_FALSE(f2.worker_restarted);
                ASSERT_EQ(f2.profile_switch_count, 1);
                ASSERT_EQ(f2.restarts_total, 0);
        }
}

/* A job that brings its own imports (the REPL's file mode) gets no header
 * and leaves the worker's import profile alone: no switch, no recycle. */
static void test_own_imports(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        char *alpha[] = { (char *) "Alpha", NULL }, *beta[] = { (char *) "Beta", NULL };
        Call own = { .code = "def own := 1", .imports = beta, .flags = JOB_OWN_IMPORTS };
        LhProject *p;
        LhFacts f;

        config.restart_limit = 10; /* two crash pairs below: stay inside the window */
        setup(&r, &p);
        f = run_ok(p, "-- @double alloc 60\n-- @double sleep 0.15\ndef a := 1", alpha);
        ASSERT_EQ(f.worker_generation, 1);
        ASSERT_OK(submit(p, &own, NULL));
        wait_done(&own);
        ASSERT_TRUE(own.ok);
        ASSERT_EQ(own.base_env, -1);      /* no header env */
        ASSERT_EQ(own.reply_env, 2);      /* no header command before it */
        ASSERT_EQ(own.facts.worker_generation, 1); /* above the soft tier, still not recycled */
        ASSERT_FALSE(own.facts.worker_restarted);
        ASSERT_EQ(own.facts.profile_switch_count, 0);
        ASSERT_STREQ(own.facts.import_profile, "Alpha");
        call_release(&own);
        f = run_ok(p, "def a2 := 1", alpha);
        ASSERT_EQ(f.worker_generation, 1);
        ASSERT_EQ(f.profile_switch_count, 0);

        /* its command names a file the daemon does not read: crashing twice
         * is no poison input, the same command goes out again (the file may
         * have been fixed) */
        for (unsigned i = 0; i < 2; i++) {
                Call crash = { .code = "-- @double exit 1", .flags = JOB_READ_ONLY | JOB_OWN_IMPORTS };

                ASSERT_OK(submit(p, &crash, NULL));
                wait_done(&crash);
                ASSERT_FALSE(crash.ok);
                ASSERT_STREQ(crash.code_err, "worker_failed");
                ASSERT_EQ(crash.facts.retry_count, 1);
                ASSERT_EQ(crash.facts.restarts_by_cause[RESTART_CAUSE_CHILD_EXIT], 2 * (i + 1));
                call_release(&crash);
        }
        config.restart_limit = 3;
}

static void test_post_job_and_max_requests(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        LhProject *p;
        LhFacts f1, f2, f;

        setup(&r, &p);
        f1 = run_ok(p, "-- @double alloc 130\n-- @double sleep 0.15\ndef big := 1", NULL);
        ASSERT_EQ(f1.worker_generation, 1);
        ASSERT_TRUE(f1.call_restart.valid);
        ASSERT_EQ(f1.call_restart.cause, RESTART_CAUSE_RSS_POST_JOB);
        ASSERT_TRUE(f1.call_restart.planned);
        ASSERT_EQ(f1.call_restart.limit_kib, 120 * MIB);
        f2 = run_ok(p, "def small := 1", NULL);
        ASSERT_EQ(f2.worker_generation, 2);
        ASSERT_EQ(f2.last_restart.cause, RESTART_CAUSE_RSS_POST_JOB);
        ASSERT_EQ(f2.restarts_by_cause[RESTART_CAUSE_RSS_POST_JOB], 1);
        ASSERT_EQ(f2.restarts_in_window, 0);

        /* max_requests: the 3rd job of a worker is its last */
        config.worker_max_requests = 3;
        f = run_ok(p, "def s2 := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        f = run_ok(p, "def s3 := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        f = run_ok(p, "def s4 := 1", NULL);
        ASSERT_EQ(f.worker_generation, 3);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_MAX_REQUESTS);
        ASSERT_TRUE(f.last_restart.planned);
        ASSERT_EQ(f.restarts_total, 2);
        ASSERT_EQ(f.restarts_in_window, 0);
        ASSERT_EQ(registry_get_restarts_total(r), 2);
        config.worker_max_requests = 64;
}

static void test_timeout(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call c = { .code = "-- @double sleep 5\ndef slow := 1" };
        LhProject *p;
        usec_t t0;
        LhFacts f;

        config.request_timeout_millis = 300;
        setup(&r, &p);
        (void) run_ok(p, "def warm := 0", NULL);

        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(submit(p, &c, NULL));
        wait_done(&c);
        ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) - t0 < 3 * USEC_PER_SEC);
        ASSERT_FALSE(c.ok);
        ASSERT_STREQ(c.code_err, "timeout");
        ASSERT_TRUE(c.retryable);
        ASSERT_EQ(c.err.restart_cause, RESTART_CAUSE_TIMEOUT);
        ASSERT_EQ(c.facts.call_restart.cause, RESTART_CAUSE_TIMEOUT);
        ASSERT_FALSE(c.facts.call_restart.planned);
        call_release(&c);

        f = run_ok(p, "def after := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_TIMEOUT);
        ASSERT_EQ(f.restarts_in_window, 1);
        config.request_timeout_millis = 5000;
}

static void test_cancel(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call a = { .code = "-- @double sleep 0.3\ndef a := 1" }, b = { .code = "-- @double sleep 5\ndef b := 1" },
             c = { .code = "def c := 1" }, d = { .code = "-- @double sleep 5\ndef d := 1" };
        LhProject *p;
        LhFacts f;

        setup(&r, &p);
        f = run_ok(p, "def warm := 0", NULL);
        ASSERT_EQ(f.worker_generation, 1);

        /* queued: dropped at once, the worker untouched */
        ASSERT_OK(submit(p, &a, NULL));
        ASSERT_OK(submit(p, &b, NULL));
        ASSERT_OK(submit(p, &c, NULL));
        run_for(50 * USEC_PER_MSEC);
        job_cancel(b.job);
        ASSERT_EQ(b.n_done, 1);
        ASSERT_STREQ(b.code_err, "cancelled");
        job_cancel(b.job); /* twice: no-op */
        ASSERT_EQ(b.n_done, 1);
        wait_done(&a);
        wait_done(&c);
        ASSERT_TRUE(a.ok && c.ok);
        ASSERT_EQ(c.facts.worker_generation, 1);
        ASSERT_EQ(c.facts.restarts_total, 0);
        ASSERT_EQ(b.n_done, 1);

        /* running: the worker is killed */
        ASSERT_OK(submit(p, &d, NULL));
        wait_state(p, PROJECT_BUSY);
        run_for(100 * USEC_PER_MSEC);
        job_cancel(d.job);
        ASSERT_EQ(d.n_done, 1);
        ASSERT_STREQ(d.code_err, "cancelled");
        ASSERT_EQ(d.facts.call_restart.cause, RESTART_CAUSE_CANCELLED);
        job_cancel(d.job);
        ASSERT_EQ(d.n_done, 1);

        f = run_ok(p, "def e := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_CANCELLED);
        /* a client's own cancel is a planned recycle: it never denies the project to others */
        ASSERT_TRUE(f.last_restart.planned);
        ASSERT_EQ(f.restarts_in_window, 0);
        ASSERT_EQ(f.restarts_by_cause[RESTART_CAUSE_CANCELLED], 1);

        Call *all[] = { &a, &b, &c, &d };
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                call_release(all[i]);
}

static void test_retry(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call ro = { .code = "-- @double exit 1", .retry_code = "def x := 1", .flags = JOB_READ_ONLY },
             ro2 = { .code = "-- @double exit 1", .flags = JOB_READ_ONLY },
             rw = { .code = "-- @double exit 1\ndef rw := 1", .retry_code = "def x := 1" };
        LhProject *p;

        config.restart_limit = 10; /* 4 crashes here: stay inside the window */
        setup(&r, &p);
        config.restart_limit = 3;
        (void) run_ok(p, "def warm := 0", NULL);

        /* read-only: restarted and retried once from start() */
        ASSERT_OK(submit(p, &ro, NULL));
        wait_done(&ro);
        ASSERT_TRUE(ro.ok);
        ASSERT_EQ(ro.facts.retry_count, 1);
        ASSERT_TRUE(ro.facts.worker_restarted);
        ASSERT_TRUE(ro.facts.call_restart.valid);
        ASSERT_EQ(ro.facts.call_restart.cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_EQ(ro.facts.call_restart.worker_generation, 1);
        ASSERT_EQ(ro.facts.worker_generation, 2);
        ASSERT_EQ(ro.base_env, 0); /* the header ran again on the new worker */

        /* read-only, dies twice: poison input, charged once, not retryable */
        ASSERT_EQ(ro.facts.restarts_in_window, 1);
        ASSERT_OK(submit(p, &ro2, NULL));
        wait_done(&ro2);
        ASSERT_FALSE(ro2.ok);
        ASSERT_STREQ(ro2.code_err, "poison_input");
        ASSERT_FALSE(ro2.retryable);
        ASSERT_EQ(ro2.facts.retry_count, 1);
        ASSERT_EQ(ro2.facts.restarts_in_window, 2);
        ASSERT_EQ(ro2.facts.restarts_by_cause[RESTART_CAUSE_CHILD_EXIT], 3);
        call_release(&ro2);

        /* the same input is never sent again: refused, no worker dies */
        ro2 = (Call) { .code = "-- @double exit 1", .flags = JOB_READ_ONLY };
        ASSERT_OK(submit(p, &ro2, NULL));
        wait_done(&ro2);
        ASSERT_STREQ(ro2.code_err, "poison_input");
        ASSERT_FALSE(ro2.retryable);
        ASSERT_EQ(ro2.facts.retry_count, 0);
        ASSERT_EQ(ro2.facts.restarts_by_cause[RESTART_CAUSE_CHILD_EXIT], 3);
        ASSERT_EQ(ro2.facts.restarts_in_window, 2);

        /* not read-only: no retry */
        ASSERT_OK(submit(p, &rw, NULL));
        wait_done(&rw);
        ASSERT_FALSE(rw.ok);
        ASSERT_STREQ(rw.code_err, "worker_failed");
        ASSERT_TRUE(rw.retryable);
        ASSERT_EQ(rw.facts.retry_count, 0);
        ASSERT_EQ(rw.err.restart_cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_EQ(rw.facts.restarts_in_window, 3);

        call_release(&ro);
        call_release(&ro2);
        call_release(&rw);
}

static void test_restart_window(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call crash[4] = {}, late = { .code = "def late := 1" }, queued = { .code = "def queued := 1" };
        LhError err = {};
        LhProject *p;
        LhFacts f;

        setup(&r, &p);
        /* two planned recycles first: they must not count */
        f = run_ok(p, "-- @double alloc 130\n-- @double sleep 0.15", NULL);
        f = run_ok(p, "-- @double alloc 130\n-- @double sleep 0.15", NULL);
        f = run_ok(p, "def x := 1", NULL);
        ASSERT_EQ(f.restarts_by_cause[RESTART_CAUSE_RSS_POST_JOB], 2);
        ASSERT_EQ(f.restarts_in_window, 0);

        for (unsigned i = 0; i < 4; i++) {
                crash[i].code = "-- @double exit 1";
                ASSERT_OK(submit(p, crash + i, NULL));
                if (i == 3)
                        ASSERT_OK(submit(p, &queued, NULL)); /* queued behind the 4th crash */
                wait_done(crash + i);
                ASSERT_FALSE(crash[i].ok);
                if (i < 3) {
                        ASSERT_STREQ(crash[i].code_err, "worker_failed");
                        ASSERT_EQ(crash[i].facts.restarts_in_window, i + 1);
                }
        }
        ASSERT_STREQ(crash[3].code_err, "worker_unavailable");
        ASSERT_TRUE(crash[3].retryable);
        ASSERT_TRUE(crash[3].err.retry_after_ms > 0);
        ASSERT_TRUE(crash[3].err.retry_after_ms <= 60 * 1000 + 1);
        ASSERT_EQ(crash[3].err.restarts_in_window, 3);
        ASSERT_EQ(crash[3].err.restart_cause, RESTART_CAUSE_CHILD_EXIT);
        ASSERT_EQ(crash[3].facts.state, PROJECT_COOLING_DOWN);

        /* the queued one fails fast too, exactly once */
        wait_done(&queued);
        ASSERT_STREQ(queued.code_err, "worker_unavailable");

        /* new calls are refused at once, done() not called */
        ASSERT_ERROR(submit(p, &late, &err), EAGAIN);
        ASSERT_STREQ(err.code, "worker_unavailable");
        ASSERT_TRUE(err.retryable);
        ASSERT_TRUE(err.retry_after_ms > 0);
        ASSERT_EQ(err.restarts_in_window, 3);
        run_for(50 * USEC_PER_MSEC);
        ASSERT_EQ(late.n_done, 0);
        ASSERT_EQ(project_get_state(p), PROJECT_COOLING_DOWN);
        ASSERT_EQ(registry_get_workers_active(r), 0);

        project_get_facts(p, &f);
        ASSERT_EQ(f.restarts_by_cause[RESTART_CAUSE_CHILD_EXIT], 4);
        ASSERT_EQ(f.restarts_total, 6);

        for (unsigned i = 0; i < 4; i++)
                call_release(crash + i);
        call_release(&queued);
}

static void test_crash_loop_and_operator_restart(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call crash[4] = {}, late = { .code = "def late := 1" };
        char code[4][64];
        LhError err = {};
        LhProject *p;
        LhFacts f;

        setup(&r, &p);
        (void) run_ok(p, "def warm := 0", NULL);
        /* different inputs that each crash two workers: each is charged once,
         * and a loop of them still trips the window */
        for (unsigned i = 0; i < 4; i++) {
                snprintf(code[i], sizeof code[i], "-- @double exit 1\ndef crash%u := %u", i, i);
                crash[i] = (Call) { .code = code[i], .flags = JOB_READ_ONLY };
                ASSERT_OK(submit(p, crash + i, NULL));
                wait_done(crash + i);
                ASSERT_FALSE(crash[i].ok);
                if (i < 3) {
                        ASSERT_STREQ(crash[i].code_err, "poison_input");
                        ASSERT_EQ(crash[i].facts.restarts_in_window, i + 1);
                }
        }
        ASSERT_STREQ(crash[3].code_err, "worker_unavailable");
        ASSERT_EQ(project_get_state(p), PROJECT_COOLING_DOWN);
        ASSERT_ERROR(submit(p, &late, &err), EAGAIN);
        ASSERT_STREQ(err.code, "worker_unavailable");

        /* the operator's restart clears the window (and the poison inputs) */
        ASSERT_OK(project_restart_worker(p));
        ASSERT_EQ(project_get_state(p), PROJECT_IDLE);
        f = run_ok(p, "def after := 1", NULL);
        ASSERT_EQ(f.restarts_in_window, 0);
        call_release(crash);
        crash[0] = (Call) { .code = code[0], .flags = JOB_READ_ONLY };
        ASSERT_OK(submit(p, crash, NULL));
        wait_done(crash);
        ASSERT_STREQ(crash[0].code_err, "poison_input");
        ASSERT_EQ(crash[0].facts.retry_count, 1); /* run again: forgotten */
        call_release(crash);

        /* and so does a stop */
        for (unsigned i = 1; i < 4; i++)
                call_release(crash + i);
        ASSERT_OK(project_stop_worker(p));
        project_get_facts(p, &f);
        ASSERT_EQ(f.restarts_in_window, 0);

        for (unsigned i = 0; i < 4; i++)
                call_release(crash + i);
}

static void test_worker_ended_itself(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        LhProject *p;
        LhFacts f;

        config.restart_limit = 100; /* each try costs a session_missing */
        setup(&r, &p);
        config.restart_limit = 3;
        for (unsigned i = 0; i < 5; i++) {
                /* the reply comes twice: the worker layer kills the worker for
                 * the unsolicited second one; the next call, submitted right
                 * away, waits for the fresh worker instead of failing EBUSY */
                f = run_ok(p, "-- @double twice\ndef twice := 1", NULL);
                f = run_ok(p, "def next := 1", NULL);
                ASSERT_EQ(f.worker_generation, i + 2);
                ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_SESSION_MISSING);
        }
}

static void test_cooldown_ends(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call c = { .code = "-- @double exit 1" };
        LhError err = {};
        LhProject *p;
        LhFacts f;

        config.restart_limit = 1;
        config.restart_window_secs = 3; /* two worker starts fit even on a loaded machine */
        setup(&r, &p);
        ASSERT_OK(submit(p, &c, NULL));
        wait_done(&c);
        ASSERT_STREQ(c.code_err, "worker_failed");
        call_release(&c);
        c = (Call) { .code = "-- @double exit 1" };
        ASSERT_OK(submit(p, &c, NULL));
        wait_done(&c);
        ASSERT_STREQ(c.code_err, "worker_unavailable");
        ASSERT_TRUE(c.err.retry_after_ms > 0 && c.err.retry_after_ms <= 3001);
        call_release(&c);

        ASSERT_TRUE(submit(p, &c, &err) < 0);
        /* the timer ends the cooling down */
        wait_state(p, PROJECT_IDLE);
        f = run_ok(p, "def ok := 1", NULL);
        ASSERT_EQ(f.restarts_in_window, 0);
        config.restart_limit = 3;
        config.restart_window_secs = 60;
}

static void test_admission(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        LhError err = {};
        LhProject *p, *q;
        LhFacts f;

        config.max_workers = 1;
        setup(&r, &p);
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        f = run_ok(p, "def a := 1", NULL);
        ASSERT_EQ(registry_get_workers_active(r), 1);

        /* q needs the only slot: p's idle worker is evicted */
        f = run_ok(q, "def b := 1", NULL);
        ASSERT_EQ(f.worker_generation, 1);
        ASSERT_EQ(registry_get_workers_active(r), 1);
        project_get_facts(p, &f);
        ASSERT_EQ(f.worker_pid, 0);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_IDLE);
        ASSERT_TRUE(f.last_restart.planned);
        ASSERT_EQ(f.restarts_in_window, 0);

        /* and back */
        f = run_ok(p, "def c := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        project_get_facts(q, &f);
        ASSERT_EQ(f.worker_pid, 0);
        ASSERT_EQ(registry_get_workers_active(r), 1);
        config.max_workers = 4;
}

static void test_restart_and_stop_worker(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        LhProject *p;
        LhFacts f;

        setup(&r, &p);
        (void) run_ok(p, "def a := 1", NULL);
        ASSERT_OK(project_restart_worker(p));
        f = run_ok(p, "def b := 1", NULL);
        ASSERT_EQ(f.worker_generation, 2);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_EXPLICIT);
        ASSERT_TRUE(f.last_restart.planned);

        ASSERT_OK(project_stop_worker(p));
        wait_quiet(r);
        ASSERT_EQ(project_get_state(p), PROJECT_STOPPED);
        ASSERT_EQ(registry_get_workers_active(r), 0);
        f = run_ok(p, "def c := 1", NULL);
        ASSERT_EQ(f.worker_generation, 3);
        ASSERT_EQ(f.restarts_total, 1); /* a stop is not a restart */
        ASSERT_EQ(project_get_state(p), PROJECT_IDLE);
}

static void test_shutdown(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call a = { .code = "-- @double sleep 5\ndef a := 1" }, b = { .code = "def b := 1" },
             c = { .code = "def c := 1" }, again = { .code = "def again := 1" }, late = { .code = "def late := 1" };
        LhError err = {};
        LhProject *p;

        setup(&r, &p);
        ASSERT_OK(submit(p, &a, NULL));
        ASSERT_OK(submit(p, &b, NULL));
        ASSERT_OK(submit(p, &c, NULL));
        b.resubmit_to = p; /* done() during shutdown tries to submit: refused */
        b.resubmit = &again;
        wait_state(p, PROJECT_BUSY);
        ASSERT_FALSE(registry_is_quiet(r));

        registry_shutdown(r);
        ASSERT_EQ(a.n_done, 1);
        ASSERT_EQ(b.n_done, 1);
        ASSERT_EQ(c.n_done, 1);
        ASSERT_STREQ(a.code_err, "shutting_down");
        ASSERT_STREQ(b.code_err, "shutting_down");
        ASSERT_STREQ(c.code_err, "shutting_down");
        ASSERT_TRUE(b.resubmit_r < 0);
        ASSERT_STREQ(again.code_err, "shutting_down");
        ASSERT_EQ(again.n_done, 0);
        ASSERT_TRUE(registry_is_quiet(r));
        ASSERT_EQ(registry_get_workers_active(r), 0);

        ASSERT_ERROR(submit(p, &late, &err), ESHUTDOWN);
        ASSERT_STREQ(err.code, "shutting_down");
        registry_shutdown(r); /* idempotent */
        run_for(100 * USEC_PER_MSEC);
        ASSERT_EQ(a.n_done, 1);
        ASSERT_EQ(b.n_done, 1);
        ASSERT_EQ(c.n_done, 1);
        ASSERT_EQ(late.n_done, 0);

        call_release(&a);
        call_release(&b);
        call_release(&c);
}

static void test_hard_limit(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call ro = { .code = "-- @double alloc 300\n-- @double sleep 5", .retry_code = "def ok := 1",
                    .flags = JOB_READ_ONLY },
             rw = { .code = "-- @double alloc 300\n-- @double sleep 5" };
        LhProject *p;

        config.worker_rss_hard_kill_kib = 256 * MIB;
        setup(&r, &p);
        (void) run_ok(p, "def warm := 0", NULL);

        /* killed above the hard tier: never retried, even read-only (it would only be killed again) */
        ASSERT_OK(submit(p, &ro, NULL));
        wait_done(&ro);
        ASSERT_FALSE(ro.ok);
        ASSERT_STREQ(ro.code_err, "worker_failed");
        ASSERT_FALSE(ro.retryable);
        ASSERT_EQ(ro.facts.retry_count, 0);
        ASSERT_TRUE(ro.facts.worker_restarted);
        ASSERT_EQ(ro.facts.call_restart.cause, RESTART_CAUSE_RSS_HARD_LIMIT);
        ASSERT_FALSE(ro.facts.call_restart.planned);
        ASSERT_EQ(ro.facts.restarts_by_cause[RESTART_CAUSE_RSS_HARD_LIMIT], 1);
        ASSERT_EQ(ro.facts.restarts_in_window, 1);

        /* not read-only: fails, not retryable (it would only be killed again) */
        ASSERT_OK(submit(p, &rw, NULL));
        wait_done(&rw);
        ASSERT_FALSE(rw.ok);
        ASSERT_STREQ(rw.code_err, "worker_failed");
        ASSERT_FALSE(rw.retryable);
        ASSERT_EQ(rw.err.restart_cause, RESTART_CAUSE_RSS_HARD_LIMIT);
        ASSERT_EQ(rw.facts.restarts_in_window, 2);

        call_release(&ro);
        call_release(&rw);
        config.worker_rss_hard_kill_kib = 1024 * MIB;
}

static void test_heavy_permits(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call a = { .code = "-- @double sleep 0.4", .flags = JOB_HEAVY },
             b = { .code = "def b := 1", .flags = JOB_HEAVY },
             c = { .code = "def c := 1" };
        LhError err = {};
        LhProject *p, *q;

        config.heavy_permits = 1;
        setup(&r, &p);
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        (void) run_ok(q, "def warm := 0", NULL);

        ASSERT_OK(submit(p, &a, NULL));
        run_for(50 * USEC_PER_MSEC);
        ASSERT_OK(submit(q, &b, NULL)); /* waits for a's permit */
        ASSERT_OK(submit(q, &c, NULL)); /* behind b in q's mailbox */
        wait_done(&a);
        wait_done(&b);
        wait_done(&c);
        ASSERT_TRUE(a.ok && b.ok && c.ok);
        ASSERT_TRUE(b.seq > a.seq);
        ASSERT_TRUE(b.facts.admission_wait_millis >= 200);
        ASSERT_TRUE(a.facts.admission_wait_millis < 200);
        call_release(&a);
        call_release(&b);
        call_release(&c);
}

static void test_max_imports_and_idle(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        char *a[] = { (char *) "A", NULL }, *b[] = { (char *) "B", NULL }, *c[] = { (char *) "C", NULL };
        LhProject *p;
        LhFacts f;

        config.worker_max_imports = 2;
        setup(&r, &p);
        f = run_ok(p, "def a := 1", a);
        f = run_ok(p, "def b := 1", b);
        f = run_ok(p, "def a := 1", a);
        ASSERT_EQ(f.worker_generation, 1);
        f = run_ok(p, "def c := 1", c); /* a third profile: recycled first */
        ASSERT_EQ(f.worker_generation, 2);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_MAX_IMPORTS);
        ASSERT_TRUE(f.last_restart.planned);
        config.worker_max_imports = 8;

        /* idle stop */
        config.worker_idle_secs = 1;
        f = run_ok(p, "def d := 1", c);
        ASSERT_EQ(f.worker_generation, 2);
        wait_quiet(r);
        project_get_facts(p, &f);
        ASSERT_EQ(f.worker_pid, 0);
        ASSERT_EQ(f.last_restart.cause, RESTART_CAUSE_IDLE);
        ASSERT_EQ(f.restarts_in_window, 0);
        ASSERT_EQ(registry_get_workers_active(r), 0);
        config.worker_idle_secs = 0;
}

static void make_project(char *dir, bool lake) {
        _cleanup_free_ char *f = NULL, *sub = NULL, *file = NULL;

        ASSERT_TRUE(mkdtemp(dir));
        if (!lake)
                return;
        f = path_join(dir, "lakefile.lean");
        test_write_file(f, "import Lake\n");
        sub = path_join(dir, "Foo");
        ASSERT_TRUE(mkdir(sub, 0755) == 0);
        file = path_join(dir, "Foo/Bar.lean");
        test_write_file(file, "def bar := 1\n");
}

int main(void) {
        if (test_config_double(&config) != 0)
                return EXIT_TEST_SKIP;
        config.import_switch_rss_soft_kib = 40 * MIB;
        config.worker_rss_post_job_restart_kib = 120 * MIB;
        config.worker_rss_hard_kill_kib = 1024 * MIB;
        config.worker_rss_sample_millis = 20;
        config.request_timeout_millis = 5000;
        config.mailbox_capacity = 8;
        config.restart_limit = 3;
        config.restart_window_secs = 60;
        config.worker_max_requests = 64;
        config.worker_max_imports = 8;
        config.worker_idle_secs = 0;
        config.max_workers = 4;
        config.project_max_workers = 1; /* one worker per project: the pool is test_pool.py's */

        ASSERT_OK(sd_event_default(&event));
        make_project(project_dir, true);
        make_project(other_dir, true);
        make_project(nolake_dir, false);

        test_resolve();
        test_order_and_mailbox();
        test_notify_coalesced();
        test_import_profiles();
        test_import_switch();
        test_own_imports();
        test_post_job_and_max_requests();
        test_timeout();
        test_cancel();
        test_retry();
        test_hard_limit();
        test_heavy_permits();
        test_max_imports_and_idle();
        test_restart_window();
        test_crash_loop_and_operator_restart();
        test_worker_ended_itself();
        test_cooldown_ends();
        test_admission();
        test_restart_and_stop_worker();
        test_shutdown();

        test_remove_tree(project_dir);
        test_remove_tree(other_dir);
        test_remove_tree(nolake_dir);
        sd_event_unref(event);
        config_done(&config);
        return 0;
}
