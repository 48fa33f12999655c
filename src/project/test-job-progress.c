/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A job's progress callback (job_set_progress) against the actor with real
 * process-mode workers running the test double ($LEAN_REPL_DOUBLE): the
 * stages of a cold call in order, mailbox positions as the queue moves, a
 * retry on a new worker, the waits for a heavy permit and a worker slot. */

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "basic/time-util.h"
#include "project/project.h"
#include "project/test-project-util.h"

static LhConfig config;
static sd_event *event;
static char project_dir[] = "/tmp/lh-test-job-progress-XXXXXX";
static char other_dir[] = "/tmp/lh-test-job-progress-other-XXXXXX";

typedef struct Call {
        const char *code, *retry_code;
        JobFlags flags;
        LhJob *job;
        bool done, ok;
        char **stages; /* every message the callback got, in order */
} Call;

static int call_start(LhJob *job, void *userdata, int base_env, json_object **ret) {
        Call *c = userdata;

        *ret = test_job_command(job, job_get_retry_count(job) > 0 && c->retry_code ? c->retry_code : c->code);
        return 0;
}

static void call_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        Call *c = userdata;

        c->done = true;
        c->ok = !err;
}

static void call_progress(LhJob *job, const char *message, void *userdata) {
        Call *c = userdata;

        ASSERT_TRUE(job == c->job);
        ASSERT_OK(strv_extend(&c->stages, message));
}

static const JobOps call_ops = { .start = call_start, .step = test_job_step_result, .done = call_done };

static void submit(LhProject *p, Call *c) {
        ASSERT_OK(job_new(&c->job, NULL, c->flags, &call_ops, c));
        job_set_progress(c->job, call_progress, c);
        ASSERT_OK(project_submit(p, c->job, NULL));
}

static void wait_done(Call *c) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;

        while (!c->done) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        }
        ASSERT_TRUE(c->ok);
}

static void call_release(Call *c) {
        c->job = job_unref(c->job);
        c->stages = strv_free(c->stages);
}

/* The index of the first stage starting with prefix, or abort. */
static size_t stage(const Call *c, const char *prefix) {
        for (size_t i = 0; c->stages && c->stages[i]; i++)
                if (strneq(c->stages[i], prefix, strlen(prefix)))
                        return i;
        fprintf(stderr, "no stage \"%s\" among:\n", prefix);
        STRV_FOREACH(s, c->stages)
                fprintf(stderr, "  %s\n", *s);
        abort();
}

static bool has_stage(const Call *c, const char *prefix) {
        STRV_FOREACH(s, c->stages)
                if (strneq(*s, prefix, strlen(prefix)))
                        return true;
        return false;
}

static void test_stages_and_mailbox(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        Call a = { .code = "-- @double sleep 0.3\ndef a := 1" }, b = { .code = "def b := 1" },
             c = { .code = "def c := 1" };
        LhProject *p;

        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        submit(p, &a);
        submit(p, &b);
        submit(p, &c);
        wait_done(&a);
        wait_done(&b);
        wait_done(&c);

        /* a cold call: worker start, the import header, its command */
        ASSERT_TRUE(stage(&a, "starting a Lean worker (generation 1)") < stage(&a, "importing the prelude"));
        ASSERT_TRUE(stage(&a, "importing the prelude") < stage(&a, "running in Lean (worker generation 1)"));
        ASSERT_FALSE(has_stage(&a, "waiting in the mailbox"));
        /* queued behind it, the positions as the queue moves, then warm */
        ASSERT_TRUE(stage(&b, "waiting in the mailbox (position 2, 1 call ahead)") < stage(&b, "running in Lean"));
        ASSERT_TRUE(stage(&c, "waiting in the mailbox (position 3, 2 calls ahead)") <
                    stage(&c, "waiting in the mailbox (position 2, 1 call ahead)"));
        ASSERT_FALSE(has_stage(&b, "starting a Lean worker"));
        ASSERT_FALSE(has_stage(&c, "importing"));
        call_release(&a);
        call_release(&b);
        call_release(&c);
}

static void test_retry(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        Call ro = { .code = "-- @double exit 1", .retry_code = "def x := 1", .flags = JOB_READ_ONLY };
        LhProject *p;

        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        submit(p, &ro);
        wait_done(&ro);
        ASSERT_TRUE(stage(&ro, "running in Lean (worker generation 1)") <
                    stage(&ro, "the worker ended (child_exit): retrying the call on a new worker"));
        ASSERT_TRUE(stage(&ro, "the worker ended") < stage(&ro, "starting a Lean worker (generation 2)"));
        ASSERT_TRUE(stage(&ro, "starting a Lean worker (generation 2)") <
                    stage(&ro, "running in Lean (worker generation 2)"));
        call_release(&ro);
}

static void test_admission_waits(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        Call heavy = { .code = "-- @double sleep 0.4", .flags = JOB_HEAVY },
             heavy2 = { .code = "def h := 1", .flags = JOB_HEAVY },
             busy = { .code = "-- @double sleep 0.4" }, other = { .code = "def o := 1" };
        LhProject *p, *q;

        /* one heavy permit: the second heavy job waits for it */
        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        submit(p, &heavy);
        while (!has_stage(&heavy, "running in Lean"))
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        submit(q, &heavy2);
        wait_done(&heavy);
        wait_done(&heavy2);
        ASSERT_TRUE(stage(&heavy2, "waiting for a heavy-job permit") < stage(&heavy2, "running in Lean"));
        ASSERT_FALSE(has_stage(&heavy, "waiting for a heavy-job permit"));
        call_release(&heavy);
        call_release(&heavy2);
        r = registry_free(r);

        /* one worker slot, held by a busy project: the other waits for it */
        config.max_workers = 1;
        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        submit(p, &busy);
        while (!has_stage(&busy, "running in Lean"))
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        submit(q, &other);
        wait_done(&busy);
        wait_done(&other);
        ASSERT_TRUE(stage(&other, "waiting for a worker slot") < stage(&other, "starting a Lean worker"));
        call_release(&busy);
        call_release(&other);
        config.max_workers = 4;
}

/* project_submit_new(): the spec's settings reach the job, start() gets the
 * header's env, a refusal releases userdata and never calls done(). */
typedef struct SpecCall {
        Call call;
        int base_env;
        unsigned n_freed;
        json_object *result; /* what done() got */
} SpecCall;

static int spec_start(LhJob *job, void *userdata, int base_env, json_object **ret) {
        SpecCall *c = userdata;

        c->base_env = base_env;
        ASSERT_EQ(base_env, job_get_base_env(job));
        return call_start(job, &c->call, base_env, ret);
}

/* Finished: the result goes back as the step's *ret, no job_set_result(). */
static int spec_step(LhJob *job, void *userdata, json_object *reply, json_object **ret) {
        *ret = json_object_get(reply);
        return 1;
}

static void spec_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        SpecCall *c = userdata;

        c->result = json_object_get(result);
        call_done(job, &c->call, result, err, facts);
}

static void spec_progress(LhJob *job, const char *message, void *userdata) {
        SpecCall *c = userdata;

        ASSERT_OK(strv_extend(&c->call.stages, message));
}

static void spec_free(void *userdata) {
        SpecCall *c = userdata;

        c->n_freed++;
}

static const JobOps spec_ops = { .start = spec_start, .step = spec_step, .done = spec_done,
                                 .free_userdata = spec_free };

static void test_submit_new(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        SpecCall a = { .call.code = "-- @double sleep 0.3\ndef a := 1", .base_env = -2 },
                 b = { .call.code = "def b := 1" };
        char *imports[] = { NULL };
        uint64_t capacity = config.mailbox_capacity;
        LhProject *p;

        ASSERT_OK(registry_new(&r, event, &config, NULL));
        ASSERT_OK(registry_resolve(r, project_dir, &p, &err));
        config.mailbox_capacity = 1;
        ASSERT_OK(project_submit_new(p, &(JobSpec) { .imports = imports, .ops = &spec_ops, .userdata = &a,
                                                     .progress = spec_progress, .progress_userdata = &a },
                                     NULL, &a.call.job));
        ASSERT_TRUE(a.call.job);
        ASSERT_EQ(project_get_queue_depth(p), 1u);
        /* the mailbox is full: refused, answered by err, userdata released, no done() */
        ASSERT_EQ(project_submit_new(p, &(JobSpec) { .imports = imports, .ops = &spec_ops, .userdata = &b },
                                     &err, &b.call.job), -EBUSY);
        ASSERT_STREQ(err.code, "mailbox_full");
        ASSERT_EQ(b.n_freed, 1u);
        ASSERT_FALSE(b.call.done);
        ASSERT_TRUE(!b.call.job);
        config.mailbox_capacity = capacity;

        while (!a.call.done)
                ASSERT_OK(sd_event_run(event, 100 * USEC_PER_MSEC));
        ASSERT_TRUE(a.call.ok);
        /* the step's *ret became the job's result: the double's reply to the command */
        ASSERT_TRUE(json_object_is_type(a.result, json_type_object));
        ASSERT_TRUE(json_object_object_get_ex(a.result, "env", NULL));
        json_object_put(a.result);
        ASSERT_TRUE(a.base_env >= 0); /* the prelude header's env in the worker */
        ASSERT_TRUE(stage(&a.call, "running in Lean") > 0);
        /* the job held the only reference the caller had: freed with the job */
        registry_free(TAKE_PTR(r));
        ASSERT_EQ(a.n_freed, 1u);
        a.call.stages = strv_free(a.call.stages);
}

int main(void) {
        if (test_config_double(&config) != 0)
                return EXIT_TEST_SKIP;
        config.worker_rss_sample_millis = 50;
        config.request_timeout_millis = 5000;
        config.restart_limit = 10;
        config.worker_idle_secs = 0;
        config.max_workers = 4;
        config.project_max_workers = 1; /* the mailbox positions assume one worker */
        config.heavy_permits = 1;

        ASSERT_OK(sd_event_default(&event));
        test_make_project(project_dir);
        test_make_project(other_dir);

        test_stages_and_mailbox();
        test_retry();
        test_admission_waits();
        test_submit_new();

        test_remove_tree(project_dir);
        test_remove_tree(other_dir);
        sd_event_unref(event);
        config_done(&config);
        return 0;
}
