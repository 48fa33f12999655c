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
#include "config/config.h"
#include "lean/readiness.h"
#include "tools/envelope.h"

static char tmp[] = "/tmp/test-envelope-XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

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

int main(void) {
        _cleanup_(lh_error_done) LhError err = {};
        _cleanup_free_ char *lakefile = NULL;
        sd_event *event = NULL;
        LhRegistry *registry = NULL;
        LhConfig config;
        LhProject *p;
        FILE *f;

        ASSERT_TRUE(mkdtemp(tmp));
        lakefile = path_join(tmp, "lakefile.toml");
        f = fopen(lakefile, "we");
        ASSERT_TRUE(f);
        fputs("name = \"p\"\n", f);
        ASSERT_EQ(fclose(f), 0);

        config_init_defaults(&config);
        config.enforcement = ENFORCEMENT_PROCESS;
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(registry_new(&registry, event, &config, NULL));
        ASSERT_OK(registry_resolve(registry, tmp, &p, &err));

        test_envelopes(p);

        registry_shutdown(registry);
        registry_free(registry);
        sd_event_unref(event);
        config_done(&config);
        ASSERT_EQ(nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        printf("OK\n");
        return 0;
}
