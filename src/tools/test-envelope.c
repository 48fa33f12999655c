/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Shapes of the tool result and error envelopes, with a real project from
 * the registry (no worker is started). */

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/tests.h"
#include "project/test-project-util.h"
#include "config/config.h"
#include "lean/readiness.h"
#include "tools/envelope.h"

static char tmp[] = "/tmp/test-envelope-XXXXXX";

static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        if (!json_object_object_get_ex(o, key, &v)) {
                fprintf(stderr, "no \"%s\" in %s\n", key, json_object_to_json_string(o));
                abort();
        }
        return v;
}

static void test_envelopes(LhProject *p) {
        json_object *o, *v, *result = json_object_new_object();
        LhFacts facts = {
                .worker_generation = 3,
                .retry_count = 1,
                .worker_restarted = true,
                .enforcement = ENFORCEMENT_MODE_PROCESS,
                .rss_kib = 1234,
        };
        LeanProjectStamp stamp = {};
        LhError err;

        /* result with explicit facts and freshness */
        ASSERT_OK(json_object_object_add(result, "answer", json_object_new_int(42)));
        o = tool_envelope_result(p, result, &facts, lean_freshness_to_json(project_get_root(p), &stamp, (char *[]) { (char *) "Init", NULL },
                                                                    facts.worker_generation, 5, NULL));
        ASSERT_TRUE(o);
        ASSERT_EQ(json_object_get_int(get(get(o, "result"), "answer")), 42);
        v = get(o, "runtime");
        ASSERT_EQ(json_object_get_int(get(v, "worker_generation")), 3);
        ASSERT_EQ(json_object_get_int(get(v, "retry_count")), 1);
        ASSERT_TRUE(json_object_get_boolean(get(v, "worker_restarted")));
        ASSERT_STREQ(json_object_get_string(get(v, "enforcement")), "process");
        ASSERT_TRUE(json_object_object_get_ex(v, "restarts_by_cause", NULL));
        v = get(o, "project");
        ASSERT_STREQ(json_object_get_string(get(v, "root")), project_get_root(p));
        ASSERT_STREQ(json_object_get_string(get(v, "id")), project_get_id(p));
        ASSERT_EQ(strlen(project_get_id(p)), 16);
        {
                /* the view the call base reads once: the same as the getters */
                LhProjectView view;

                project_get_view(p, &view);
                ASSERT_STREQ(view.root, project_get_root(p));
                ASSERT_STREQ(view.id, project_get_id(p));
                ASSERT_TRUE(view.config == project_get_config(p));
        }
        v = get(o, "freshness");
        ASSERT_STREQ(json_object_get_string(get(v, "project_root")), project_get_root(p));
        ASSERT_EQ(json_object_array_length(get(v, "imports")), 1);
        ASSERT_EQ(json_object_get_int(get(get(v, "session"), "worker_generation")), 3);
        ASSERT_EQ(json_object_get_int(get(get(v, "session"), "env")), 5);
        ASSERT_FALSE(json_object_object_get_ex(o, "error", NULL));
        json_object_put(o);

        /* result with facts NULL: the project's snapshot; NULL result: {} */
        o = tool_envelope_result(p, NULL, NULL, NULL);
        ASSERT_TRUE(o);
        ASSERT_EQ(json_object_object_length(get(o, "result")), 0);
        ASSERT_EQ(json_object_get_int(get(get(o, "runtime"), "worker_generation")), 0);
        ASSERT_FALSE(json_object_object_get_ex(o, "freshness", NULL));
        json_object_put(o);

        /* error with details and runtime */
        lh_error_set(&err, "toolchain_not_installed", false, "elan toolchain %s is not installed", "x");
        err.details = json_object_new_object();
        ASSERT_OK(json_object_object_add(err.details, "fix", json_object_new_string("elan toolchain install x")));
        o = tool_envelope_error(p, &err, &facts, NULL);
        lh_error_done(&err);
        ASSERT_TRUE(o);
        v = get(o, "error");
        ASSERT_STREQ(json_object_get_string(get(v, "code")), "toolchain_not_installed");
        ASSERT_FALSE(json_object_get_boolean(get(v, "retryable")));
        ASSERT_STREQ(json_object_get_string(get(v, "message")), "elan toolchain x is not installed");
        ASSERT_STREQ(json_object_get_string(get(v, "fix")), "elan toolchain install x");
        ASSERT_EQ(json_object_get_int(get(get(o, "runtime"), "worker_generation")), 3);
        ASSERT_TRUE(json_object_object_get_ex(o, "project", NULL));
        ASSERT_FALSE(json_object_object_get_ex(o, "result", NULL));
        json_object_put(o);

        /* the call base's: the project as given by its view, the error when err */
        {
                LhProjectView view;

                project_get_view(p, &view);
                view.id = "view-id";
                o = tool_envelope_of(p, &view, json_object_new_object(), NULL, &facts, NULL);
                ASSERT_TRUE(o);
                ASSERT_STREQ(json_object_get_string(get(get(o, "project"), "id")), "view-id");
                ASSERT_TRUE(json_object_object_get_ex(o, "result", NULL));
                json_object_put(o);
                lh_error_set(&err, "lean_error", false, "failed");
                o = tool_envelope_of(p, NULL, json_object_new_object(), &err, &facts, NULL);
                lh_error_done(&err);
                ASSERT_STREQ(json_object_get_string(get(get(o, "error"), "code")), "lean_error");
                ASSERT_STREQ(json_object_get_string(get(get(o, "project"), "id")), project_get_id(p));
                ASSERT_FALSE(json_object_object_get_ex(o, "result", NULL));
                json_object_put(o);
        }

        /* error without a project (project_not_found): no runtime, no project */
        lh_error_set(&err, "project_not_found", false, "no Lake project at /nowhere");
        o = tool_envelope_error(NULL, &err, NULL, NULL);
        lh_error_done(&err);
        ASSERT_TRUE(o);
        ASSERT_STREQ(json_object_get_string(get(get(o, "error"), "code")), "project_not_found");
        ASSERT_FALSE(json_object_object_get_ex(o, "runtime", NULL));
        ASSERT_FALSE(json_object_object_get_ex(o, "project", NULL));
        json_object_put(o);

        /* freshness without env */
        o = lean_freshness_to_json(project_get_root(p), &stamp, NULL, 0, -1, NULL);
        ASSERT_TRUE(o);
        ASSERT_FALSE(json_object_object_get_ex(get(o, "session"), "env", NULL));
        ASSERT_EQ(json_object_array_length(get(o, "imports")), 0);
        json_object_put(o);
}

/* content[0].text: a few lines, never the structured body again. */
static void test_summary(LhProject *p) {
        LhFacts facts = { .worker_generation = 1, .enforcement = ENFORCEMENT_MODE_PROCESS, .rss_kib = 1234,
                          .memory_high_kib = 5 * 1024 * 1024 };
        json_object *result, *o, *msgs, *m;
        LhError err;
        char *t;

        /* a trivial lean_run: env, no messages (the shape lean_reply_to_json gives) */
        result = json_tokener_parse("{\"env\":1,\"messages\":[],\"sorries\":[],\"has_errors\":false,\"has_sorry\":false}");
        o = tool_envelope_result(p, result, &facts, NULL);
        t = tool_result_summary(o, false, NULL);
        ASSERT_STREQ(t, "ok: no messages");
        ASSERT_TRUE(strlen(t) <= 300);
        free(t);
        json_object_put(o);

        /* messages: counted, then each on a line, with its position */
        result = json_tokener_parse("{\"env\":2,\"messages\":[{\"severity\":\"warning\",\"pos\":{\"line\":1,\"column\":8},"
                                    "\"data\":\"declaration uses `sorry`\"},{\"severity\":\"error\",\"pos\":{\"line\":3,"
                                    "\"column\":2},\"data\":\"unknown identifier 'x'\"}],\"sorries\":[],\"has_errors\":true,"
                                    "\"has_sorry\":true}");
        o = tool_envelope_result(p, result, &facts, NULL);
        ASSERT_OK(json_object_object_add(o, "truncated", json_object_new_boolean(true)));
        ASSERT_OK(json_object_object_add(o, "messages_total", json_object_new_int(900)));
        ASSERT_OK(json_object_object_add(o, "messages_returned", json_object_new_int(2)));
        t = tool_result_summary(o, false, NULL);
        ASSERT_STREQ(t, "errors: 1 error, 1 warning, 0 infos, uses sorry (messages cut to 2 of 900)\n"
                        "warning 1:8: declaration uses `sorry`\n"
                        "error 3:2: unknown identifier 'x'");
        free(t);
        json_object_put(o);

        /* many long messages: bounded */
        result = json_object_new_object();
        msgs = json_object_new_array();
        for (unsigned i = 0; i < 200; i++) {
                char data[1000];
                memset(data, 'a', sizeof data - 1);
                data[sizeof data - 1] = 0;
                m = json_object_new_object();
                json_object_object_add(m, "severity", json_object_new_string("info"));
                json_object_object_add(m, "data", json_object_new_string(data));
                json_object_array_add(msgs, m);
        }
        json_object_object_add(result, "messages", msgs);
        o = tool_envelope_result(p, result, &facts, NULL);
        t = tool_result_summary(o, false, NULL);
        ASSERT_TRUE(strlen(t) < 6000);
        ASSERT_CONTAINS(t, "more messages in structuredContent");
        free(t);
        json_object_put(o);

        /* notable facts: a restart, a retry, memory near the post-job tier */
        facts.worker_restarted = true;
        facts.retry_count = 1;
        facts.call_restart = (RestartEvent) { .valid = true, .cause = RESTART_CAUSE_CHILD_EXIT };
        facts.anon_kib = 4608 * 1024;
        o = tool_envelope_result(p, json_tokener_parse("{\"answer\":42}"), &facts, NULL);
        t = tool_result_summary(o, false, NULL);
        ASSERT_CONTAINS(t, "{\"answer\":42}");
        ASSERT_CONTAINS(t, "worker restarted during this call: child_exit");
        ASSERT_CONTAINS(t, "retried 1 time");
        ASSERT_CONTAINS(t, "worker memory 4608 MiB, near the post-job tier of 5120 MiB");
        free(t);
        json_object_put(o);

        /* an error: code, retryability, message */
        lh_error_set(&err, "mailbox_full", true, "the project's mailbox is full (8 queued)");
        o = tool_envelope_error(p, &err, NULL, NULL);
        lh_error_done(&err);
        t = tool_result_summary(o, true, NULL);
        ASSERT_STREQ(t, "error mailbox_full (retryable): the project's mailbox is full (8 queued)");
        free(t);
        json_object_put(o);
}

static void assert_path(const char *in, const char *want, const char *error_part) {
        _cleanup_free_ char *out = NULL, *why = NULL;
        int r = tool_project_path(in, &out, &why);

        if (want) {
                ASSERT_OK(r);
                ASSERT_STREQ(out, want);
                ASSERT_TRUE(!why);
        } else {
                ASSERT_ERROR(r, EINVAL);
                ASSERT_TRUE(!out);
                ASSERT_CONTAINS(why, error_part);
        }
}

static void test_project_path(void) {
        ASSERT_EQ(setenv("HOME", "/home/u", 1), 0);
        assert_path("/srv/p", "/srv/p", NULL);
        assert_path("~", "/home/u", NULL);
        assert_path("~/work/p", "/home/u/work/p", NULL);
        assert_path("work/p", NULL, "work/p is a relative path; give an absolute path");
        assert_path("./p", NULL, "relative path");
        assert_path("~bob/p", NULL, "only ~ and ~/ (your home) are expanded");
        assert_path("", NULL, "must be the absolute path");
        assert_path(NULL, NULL, "must be the absolute path");
        /* a relative $HOME is no home: the passwd entry is */
        ASSERT_EQ(setenv("HOME", "rel", 1), 0);
        {
                _cleanup_free_ char *out = NULL, *why = NULL;

                if (tool_project_path("~/x", &out, &why) == 0)
                        ASSERT_TRUE(out[0] == '/');
                else
                        ASSERT_CONTAINS(why, "home directory is unknown");
        }
}

int main(void) {
        _cleanup_(lh_error_done) LhError err = {};
        _cleanup_free_ char *lakefile = NULL;
        sd_event *event = NULL;
        LhRegistry *registry = NULL;
        LhConfig config;
        LhProject *p;

        ASSERT_TRUE(mkdtemp(tmp));
        lakefile = path_join(tmp, "lakefile.toml");
        test_write_file(lakefile, "name = \"p\"\n");

        config_init_defaults(&config);
        config.enforcement = ENFORCEMENT_PROCESS;
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(registry_new(&registry, event, &config, NULL));
        ASSERT_OK(registry_resolve(registry, tmp, &p, &err));

        test_envelopes(p);
        test_summary(p);
        test_project_path();

        test_registry_done(registry, event, &config);
        test_remove_tree(tmp);
        printf("OK\n");
        return 0;
}
