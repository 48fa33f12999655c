/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the tests that run jobs on the test-double worker share (header
 * only: each test is one executable). */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "project/project.h"

/* $LEAN_REPL_DOUBLE as the worker, process mode, SIGCHLD blocked (sd-event
 * child sources): 0, or EXIT_TEST_SKIP (printed why) without a double. */
static inline int test_config_double(LhConfig *config) {
        const char *dbl = test_setup_double(0);

        if (!dbl)
                return EXIT_TEST_SKIP;

        config_init_defaults(config);
        ASSERT_OK(strv_extend(&config->worker_command, dbl));
        config->enforcement = ENFORCEMENT_PROCESS;
        return 0;
}

/* A fresh Lake project under dir (a mkdtemp() template). */
static inline void test_make_project(char *dir) {
        _cleanup_free_ char *f = NULL;

        ASSERT_TRUE(mkdtemp(dir));
        f = path_join(dir, "lakefile.lean");
        test_write_file(f, "import Lake\n");
}

/* JobOps.start's command: code in the job's import env. */
static inline json_object *test_job_command(LhJob *job, const char *code) {
        json_object *o = json_object_new_object();

        ASSERT_TRUE(o);
        json_object_object_add(o, "cmd", json_object_new_string(code));
        if (job_get_base_env(job) >= 0)
                json_object_object_add(o, "env", json_object_new_int(job_get_base_env(job)));
        return o;
}

/* JobOps.step: the first reply is the result. */
static inline int test_job_step_result(LhJob *job, void *userdata, json_object *reply, json_object **ret) {
        job_set_result(job, json_object_get(reply));
        return 1;
}

/* The end of a test with a registry: every worker stopped, all freed. */
static inline void test_registry_done(LhRegistry *registry, sd_event *event, LhConfig *config) {
        registry_shutdown(registry);
        registry_free(registry);
        sd_event_unref(event);
        config_done(config);
}
