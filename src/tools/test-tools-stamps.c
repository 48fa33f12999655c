/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tools layer's per-project worker stamps go with a forgotten project:
 * reopened, the project's new worker generations match no old record (which
 * would recycle its first worker as stale). And the readiness gate keeps the
 * project's files in its readiness cache: unchanged, they are not re-read. */

#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

#include "basic/path-util.h"
#include "basic/strv.h"
#include "basic/tests.h"
#include "project/test-project-util.h"
#include "tools/tools-internal.h"

int main(void) {
        char tmp[] = "/tmp/test-tools-stamps-XXXXXX";
        _cleanup_free_ char *lakefile = NULL, *pin = NULL;
        LeanReadiness rd;
        LhProjectView view;
        uint64_t reads;
        LeanProjectStamp a = { .toolchain = "leanprover/lean4:v4.19.0" };
        LhError err = {};
        sd_event *event;
        LhRegistry *registry;
        LhConfig config;
        ToolsContext ctx = {};
        LhProject *p;

        ASSERT_TRUE(mkdtemp(tmp));
        lakefile = path_join(tmp, "lakefile.toml");
        test_write_file(lakefile, "name = \"p\"\n");
        pin = path_join(tmp, "lean-toolchain");
        test_write_file(pin, "leanprover/lean4:v4.19.0\n");

        config_init_defaults(&config);
        /* a custom worker: ready without elan, so the gate answers nothing */
        config.worker_command = strv_copy((char *[]) { (char *) "true", NULL });
        ASSERT_TRUE(config.worker_command);
        config.enforcement = ENFORCEMENT_PROCESS;
        config.project_forget_idle_secs = 1;
        ASSERT_OK(sd_event_new(&event));
        ASSERT_OK(registry_new(&registry, event, &config, NULL));
        ctx.registry = registry;
        ctx.config = &config;

        ASSERT_OK(registry_resolve(registry, tmp, &p, &err));
        tools_note_worker_stamp(&ctx, p, 1, &a);
        ASSERT_TRUE(tools_get_worker_stamp(&ctx, p, 1) != NULL);
        ASSERT_TRUE(project_get_tools_data(p) != NULL); /* on the project, not in ctx */

        /* idle past forget_idle_secs: forgotten, its record with it */
        usleep(1100 * 1000);
        ASSERT_EQ(registry_forget_idle(registry), 1u);

        /* reopened: generation 1 is a new worker, not the old one */
        ASSERT_OK(registry_resolve(registry, tmp, &p, &err));
        ASSERT_TRUE(tools_get_worker_stamp(&ctx, p, 1) == NULL);

        /* the gate before a job (no call being dispatched: classified here) */
        project_get_view(p, &view);
        ASSERT_EQ(tools_check_readiness(&ctx, NULL, p, &view, &rd), 0);
        ASSERT_EQ(rd.state, LEAN_READINESS_READY);
        ASSERT_TRUE(streq(rd.stamp.toolchain, "leanprover/lean4:v4.19.0"));
        lean_readiness_done(&rd);
        reads = project_get_readiness_cache(p)->reads;
        ASSERT_TRUE(reads > 0);
        ASSERT_EQ(tools_check_readiness(&ctx, NULL, p, &view, &rd), 0);
        lean_readiness_done(&rd);
        ASSERT_EQ(project_get_readiness_cache(p)->reads, reads);

        test_registry_done(registry, event, &config);
        test_remove_tree(tmp);
        printf("OK\n");
        return 0;
}
