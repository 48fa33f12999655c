/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pool (pool.c, mailbox.c, snapshot.c) against real process-mode
 * workers running the test double: the mailbox grows with the lanes, a
 * proof-state job waiting for its busy worker does not hold the jobs behind
 * it, and the facts never lend one worker's numbers to another's call. */

#include <stdio.h>

#include "basic/tests.h"
#include "basic/time-util.h"
#include "project/project.h"
#include "project/test-project-util.h"

#define MIB KIB_PER_MIB

static LhConfig config;
static sd_event *event;
static char project_dir[] = "/tmp/lh-test-pool-XXXXXX";
static unsigned done_seq;

typedef struct Call {
        const char *code;
        const char *code2; /* a second command after the first reply */
        const char *retry_code; /* the command of a retry (a read-only call) */
        JobFlags flags;
        unsigned n_start;
        bool sent2;
        uint64_t want_generation;
        LhJob *job;
        unsigned n_done, seq;
        usec_t done_at;
        bool ok;
        char code_err[64];
        bool retryable;
        uint64_t retry_after_ms;
        json_object *details;
        LhFacts facts;
} Call;

static int call_start(LhJob *job, void *userdata, int base_env, json_object **ret) {
        Call *c = userdata;

        *ret = test_job_command(job, c->n_start++ > 0 && c->retry_code ? c->retry_code : c->code);
        return 0;
}

static void call_done(LhJob *job, void *userdata, json_object *result, const LhError *err, const LhFacts *facts) {
        Call *c = userdata;

        c->n_done++;
        c->seq = ++done_seq;
        c->done_at = now_usec(CLOCK_MONOTONIC);
        c->ok = !err;
        if (err) {
                snprintf(c->code_err, sizeof c->code_err, "%s", err->code);
                c->retryable = err->retryable;
                c->retry_after_ms = err->retry_after_ms;
                json_object_put(c->details);
                c->details = json_object_get(err->details);
        }
        c->facts = *facts;
}

static int call_step(LhJob *job, void *userdata, json_object *reply, json_object **ret) {
        Call *c = userdata;

        if (c->code2 && !c->sent2) {
                c->sent2 = true;
                *ret = test_job_command(job, c->code2);
                return 0;
        }
        return test_job_step_result(job, userdata, reply, ret);
}

static const JobOps call_ops = {
        .start = call_start,
        .step = call_step,
        .done = call_done,
};

static int submit(LhProject *p, Call *c) {
        LhError err = {};
        LhJob *j;
        int r;

        ASSERT_OK(job_new(&j, NULL, c->flags, &call_ops, c));
        if (c->want_generation > 0)
                job_set_want_generation(j, c->want_generation);
        r = project_submit(p, j, &err);
        if (r < 0) {
                snprintf(c->code_err, sizeof c->code_err, "%s", strempty(err.code));
                c->retry_after_ms = err.retry_after_ms;
                lh_error_done(&err);
                j = job_unref(j);
        }
        c->job = j;
        return r;
}

static void wait_done(Call *c) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;

        while (c->n_done == 0) {
                ASSERT_TRUE(now_usec(CLOCK_MONOTONIC) < deadline);
                ASSERT_OK(sd_event_run(event, 50 * USEC_PER_MSEC));
        }
        ASSERT_EQ(c->n_done, 1);
        c->job = job_unref(c->job);
}

static void setup(LhRegistry **ret_r, LhProject **ret_p) {
        _cleanup_(lh_error_done) LhError err = {};

        ASSERT_OK(registry_new(ret_r, event, &config, NULL));
        ASSERT_OK(registry_resolve(*ret_r, project_dir, ret_p, &err));
}

/* project.mailbox_capacity counts per lane the pool may have: 2 × 4 lanes
 * take 8 calls, the ninth is refused with when to come back. */
static void test_mailbox_grows_with_the_pool(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call calls[9] = {};
        LhProject *p;
        LhFacts f;

        setup(&r, &p);
        for (unsigned i = 0; i < 8; i++) {
                calls[i].code = "-- @double sleep 0.5\ndef a := 1";
                ASSERT_OK(submit(p, calls + i));
        }
        calls[8].code = "def nine := 9";
        ASSERT_ERROR(submit(p, calls + 8), EBUSY);
        ASSERT_STREQ(calls[8].code_err, "mailbox_full");
        ASSERT_TRUE(calls[8].retry_after_ms >= 100);
        for (unsigned i = 0; i < 8; i++) {
                wait_done(calls + i);
                ASSERT_TRUE(calls[i].ok);
        }
        ASSERT_EQ(calls[8].n_done, 0);
        project_get_facts(p, &f);
        ASSERT_EQ(f.pool_max_workers, 4u);
        ASSERT_EQ(f.pool_memory_kib, config.project_pool_memory_kib);
        ASSERT_STREQ(f.pool_memory_source, "project.pool_memory_kib");
}

/* Two lanes: one busy holding a proof state, a job for that state queued;
 * an unrelated job behind it runs at once on the other lane, and the
 * proof-state jobs keep their order on their worker. Then the facts: each
 * call's are its worker's; the project's name no worker of the two. */
static void test_no_head_of_line_blocking(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call slow = { .code = "-- @double sleep 2\ndef slow := 1" }, quick = { .code = "def quick := 1" };
        Call state1 = {}, state2 = {}, other = { .code = "def other := 1" }, late = {};
        LhWorkerFacts w[4];
        LhFacts f;
        LhProject *p;
        usec_t t0;
        size_t n;

        config.project_max_workers = 2;
        setup(&r, &p);
        ASSERT_OK(submit(p, &slow));
        ASSERT_OK(submit(p, &quick));
        wait_done(&quick);
        ASSERT_TRUE(quick.ok);
        ASSERT_EQ(slow.n_done, 0u);
        ASSERT_TRUE(quick.facts.worker_generation > 0);

        /* slow's worker is the other one: its generation is the other live one */
        n = project_get_workers(p, w, ELEMENTSOF(w));
        ASSERT_EQ(n, 2u);
        state1.want_generation = state2.want_generation = late.want_generation =
                w[0].generation == quick.facts.worker_generation ? w[1].generation : w[0].generation;
        state1.code = "def s1 := 1";
        state2.code = "def s2 := 2";
        late.code = "def s3 := 3";
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(submit(p, &state1));
        ASSERT_OK(submit(p, &state2));
        ASSERT_OK(submit(p, &other));
        wait_done(&other);
        ASSERT_TRUE(other.ok);
        ASSERT_EQ(slow.n_done, 0u);           /* it ran beside slow, not after it */
        ASSERT_TRUE(other.done_at - t0 < USEC_PER_SEC);
        ASSERT_EQ(other.facts.worker_generation, quick.facts.worker_generation);
        ASSERT_OK(submit(p, &late));

        wait_done(&slow);
        wait_done(&state1);
        wait_done(&state2);
        wait_done(&late);
        ASSERT_TRUE(state1.ok && state2.ok && late.ok);
        ASSERT_EQ(state1.facts.worker_generation, state1.want_generation);
        ASSERT_EQ(state2.facts.worker_generation, state1.want_generation);
        ASSERT_TRUE(slow.seq < state1.seq && state1.seq < state2.seq && state2.seq < late.seq);

        /* a call's facts: its own worker's pid, never the other's */
        ASSERT_TRUE(project_get_worker(p, other.facts.worker_generation, w));
        ASSERT_EQ(other.facts.worker_pid, w[0].pid);
        ASSERT_TRUE(project_get_worker(p, state1.want_generation, w + 1));
        ASSERT_EQ(state1.facts.worker_pid, w[1].pid);
        ASSERT_TRUE(w[0].pid != w[1].pid);

        /* the project's snapshot with two workers: the pool's sums, no one worker */
        project_get_facts(p, &f);
        ASSERT_EQ(f.pool_workers, 2u);
        ASSERT_EQ(f.worker_generation, 0u);
        ASSERT_EQ(f.worker_pid, 0);
        ASSERT_STREQ(f.scope_unit, "");
        ASSERT_EQ(f.rss_kib, w[0].rss_kib + w[1].rss_kib);
        ASSERT_EQ(f.requests_served, w[0].requests_served + w[1].requests_served);
        config.project_max_workers = 4;
}

/* A job that names a worker generation no lane holds (its worker restarted
 * or was recycled while the job waited) fails proof_state_lost at once: no
 * lane takes it, no worker is started only to find its state is not there. */
static void test_gone_generation_fails_fast(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call first = { .code = "def first := 1" }, busy = { .code = "-- @double sleep 1\ndef busy := 1" };
        Call lost = { .code = "def lost := 1" };
        LhWorkerFacts w[2];
        LhProject *p;

        config.project_max_workers = 2;
        setup(&r, &p);
        ASSERT_OK(submit(p, &first));
        wait_done(&first);
        ASSERT_TRUE(first.ok);
        ASSERT_OK(submit(p, &busy));
        lost.want_generation = first.facts.worker_generation + 1000;
        ASSERT_OK(submit(p, &lost));
        wait_done(&lost);
        ASSERT_FALSE(lost.ok);
        ASSERT_STREQ(lost.code_err, "proof_state_lost");
        ASSERT_EQ(busy.n_done, 0u); /* answered while the only worker was busy */
        ASSERT_EQ(project_get_workers(p, w, ELEMENTSOF(w)), 1u);
        wait_done(&busy);
        ASSERT_TRUE(busy.ok);
        config.project_max_workers = 4;
}

static uint64_t details_u64(const Call *c, const char *key) {
        json_object *v;

        ASSERT_TRUE(json_object_object_get_ex(c->details, key, &v));
        return json_object_get_uint64(v);
}

static void run_for(usec_t t) {
        usec_t until = now_usec(CLOCK_MONOTONIC) + t;

        while (now_usec(CLOCK_MONOTONIC) < until)
                ASSERT_OK(sd_event_run(event, 20 * USEC_PER_MSEC));
}

/* One lane, a call of two commands (0.7 s each, each within the 1 s
 * deadline) running: the calls queued behind it are answered timeout at
 * their deadline, queued, never run (a plain one and one naming the busy
 * worker's proof state), while the running one goes on on the same worker
 * and finishes; nothing is killed or counted. */
static void test_queued_job_times_out(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call first = { .code = "def first := 1" };
        Call slow = { .code = "-- @double sleep 0.7\ndef a := 1", .code2 = "-- @double sleep 0.7\ndef b := 1" };
        Call queued = { .code = "def q := 1" }, state = { .code = "def s := 1" };
        LhProject *p;
        LhFacts f;
        usec_t t0;

        config.project_max_workers = 1;
        config.request_timeout_millis = 1000;
        config.mailbox_capacity = 4;
        setup(&r, &p);
        ASSERT_OK(submit(p, &first));
        wait_done(&first);
        ASSERT_TRUE(first.ok);

        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(submit(p, &slow));
        ASSERT_OK(submit(p, &queued));
        state.want_generation = first.facts.worker_generation;
        ASSERT_OK(submit(p, &state));
        wait_done(&queued);
        wait_done(&state);
        ASSERT_EQ(slow.n_done, 0u); /* still running */
        ASSERT_TRUE(queued.done_at - t0 >= USEC_PER_SEC);
        ASSERT_TRUE(state.done_at - t0 < 1300 * USEC_PER_MSEC); /* at the deadline, not after slow */
        ASSERT_FALSE(queued.ok);
        ASSERT_STREQ(queued.code_err, "timeout");
        ASSERT_TRUE(queued.retryable);
        ASSERT_TRUE(queued.retry_after_ms >= 100);
        ASSERT_TRUE(json_object_get_boolean(json_object_object_get(queued.details, "queued")));
        ASSERT_TRUE(details_u64(&queued, "queue_wait_ms") >= 1000);
        ASSERT_EQ(details_u64(&queued, "ahead"), 1u);
        ASSERT_TRUE(queued.facts.queue_wait_millis >= 1000);
        ASSERT_FALSE(queued.facts.worker_restarted);
        ASSERT_STREQ(state.code_err, "timeout");
        ASSERT_EQ(details_u64(&state, "ahead"), 2u);
        ASSERT_EQ(details_u64(&state, "worker_generation"), first.facts.worker_generation);

        wait_done(&slow);
        ASSERT_TRUE(slow.ok);
        ASSERT_TRUE(slow.sent2);
        ASSERT_EQ(slow.facts.worker_generation, first.facts.worker_generation);
        ASSERT_FALSE(slow.facts.worker_restarted);
        project_get_facts(p, &f);
        ASSERT_EQ(f.restarts_total, 0u);
        json_object_put(queued.details);
        json_object_put(state.details);
        config.mailbox_capacity = 2;
        config.request_timeout_millis = 10000;
        config.project_max_workers = 4;
}

/* A queued call cancelled before its deadline gets cancelled, once: the
 * deadline passes with no second answer. */
static void test_cancelled_job_not_timed_out(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        Call slow = { .code = "-- @double sleep 0.7\ndef a := 1", .code2 = "-- @double sleep 0.7\ndef b := 1" };
        Call queued = { .code = "def q := 1" };
        LhProject *p;

        config.project_max_workers = 1;
        config.request_timeout_millis = 1000;
        setup(&r, &p);
        ASSERT_OK(submit(p, &slow));
        ASSERT_OK(submit(p, &queued));
        run_for(300 * USEC_PER_MSEC);
        ASSERT_EQ(queued.n_done, 0u);
        job_cancel(queued.job);
        ASSERT_EQ(queued.n_done, 1u);
        ASSERT_STREQ(queued.code_err, "cancelled");
        run_for(1000 * USEC_PER_MSEC); /* past its deadline */
        ASSERT_EQ(queued.n_done, 1u);
        ASSERT_STREQ(queued.code_err, "cancelled");
        wait_done(&queued);
        wait_done(&slow);
        ASSERT_TRUE(slow.ok);
        config.request_timeout_millis = 10000;
        config.project_max_workers = 4;
}

/* worker.max_workers 1: a call of another project, on a lane waiting for
 * the one worker slot (held by a busy worker, not evictable), never ran
 * either: answered timeout at its deadline, not after the busy call. */
static void test_slot_wait_times_out(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        char other_dir[] = "/tmp/lh-test-pool-other-XXXXXX";
        Call slow = { .code = "-- @double sleep 0.7\ndef a := 1", .code2 = "-- @double sleep 0.7\ndef b := 1" };
        Call waiting = { .code = "def w := 1" };
        LhProject *p, *q;
        json_object *v;
        usec_t t0;

        config.max_workers = 1;
        config.request_timeout_millis = 1000;
        test_make_project(other_dir);
        setup(&r, &p);
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(submit(p, &slow));
        run_for(100 * USEC_PER_MSEC);
        ASSERT_OK(submit(q, &waiting));
        wait_done(&waiting);
        ASSERT_EQ(slow.n_done, 0u);
        ASSERT_TRUE(waiting.done_at - t0 < 1300 * USEC_PER_MSEC);
        ASSERT_STREQ(waiting.code_err, "timeout");
        ASSERT_TRUE(waiting.retryable);
        ASSERT_TRUE(json_object_get_boolean(json_object_object_get(waiting.details, "queued")));
        ASSERT_TRUE(json_object_object_get_ex(waiting.details, "waiting_for", &v));
        ASSERT_TRUE(strstr(json_object_get_string(v), "worker slot"));
        ASSERT_TRUE(details_u64(&waiting, "queue_wait_ms") >= 1000);
        wait_done(&slow);
        ASSERT_TRUE(slow.ok);
        ASSERT_FALSE(slow.facts.worker_restarted);
        json_object_put(waiting.details);
        test_remove_tree(other_dir);
        config.request_timeout_millis = 10000;
        config.max_workers = 8;
}

/* A read-only call whose worker died waits for a worker slot again, already
 * admitted: not under the queue deadline, bounded by the slot holder's own
 * request timer (queue-deadline.c's top comment). */
static void test_retry_slot_wait_bounded_by_holder(void) {
        _cleanup_(registry_freep) LhRegistry *r = NULL;
        _cleanup_(lh_error_done) LhError err = {};
        char other_dir[] = "/tmp/lh-test-pool-other-XXXXXX";
        Call crash = { .code = "-- @double sleep 0.4\n-- @double exit 1", .retry_code = "def r := 1",
                       .flags = JOB_READ_ONLY };
        Call holder = { .code = "-- @double sleep 5\ndef h := 1" };
        LhProject *p, *q;
        usec_t t0;

        config.max_workers = 1;
        config.request_timeout_millis = 1000;
        test_make_project(other_dir);
        setup(&r, &p);
        ASSERT_OK(registry_resolve(r, other_dir, &q, &err));
        t0 = now_usec(CLOCK_MONOTONIC);
        ASSERT_OK(submit(p, &crash));
        run_for(100 * USEC_PER_MSEC);
        ASSERT_OK(submit(q, &holder));
        wait_done(&holder);
        wait_done(&crash);
        /* the holder took the slot the crash gave back and ran its command
         * to its own request timer; only then did the retry run */
        ASSERT_STREQ(holder.code_err, "timeout");
        ASSERT_TRUE(crash.ok);
        ASSERT_EQ(crash.n_start, 2u);
        ASSERT_TRUE(crash.facts.worker_restarted);
        ASSERT_TRUE(holder.seq < crash.seq);
        ASSERT_TRUE(crash.done_at - t0 >= 1300 * USEC_PER_MSEC);
        json_object_put(holder.details);
        test_remove_tree(other_dir);
        config.request_timeout_millis = 10000;
        config.max_workers = 8;
}

int main(void) {
        if (test_config_double(&config) != 0)
                return EXIT_TEST_SKIP;
        config.worker_rss_post_job_restart_kib = 512 * MIB;
        config.import_switch_rss_soft_kib = 256 * MIB;
        config.worker_rss_hard_kill_kib = 1024 * MIB;
        config.worker_rss_sample_millis = 20;
        config.request_timeout_millis = 10000;
        config.mailbox_capacity = 2;
        config.worker_idle_secs = 0;
        config.max_workers = 8;
        config.project_max_workers = 4;
        config.project_pool_memory_kib = 8 * 1024 * MIB;
        config.project_pool_memory_auto = false;

        ASSERT_OK(sd_event_default(&event));
        test_make_project(project_dir);

        test_mailbox_grows_with_the_pool();
        test_no_head_of_line_blocking();
        test_gone_generation_fails_fast();
        test_queued_job_times_out();
        test_cancelled_job_not_timed_out();
        test_slot_wait_times_out();
        test_retry_slot_wait_bounded_by_holder();

        test_remove_tree(project_dir);
        sd_event_unref(event);
        config_done(&config);
        return 0;
}
