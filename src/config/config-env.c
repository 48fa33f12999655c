/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include "basic/log.h"
#include "basic/strv.h"
#include "config/config-internal.h"

const char *envp_get(char **envp, const char *name) {
        size_t n;

        assert(name);

        n = strlen(name);
        /* first match, as getenv(3) */
        for (char **e = envp; e && *e; e++)
                if (strneq(*e, name, n) && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

/* ---- env ---------------------------------------------------------------- */

int config_load_env(LhConfig *c, char **envp, char **ret_error) {
        int r;

        assert(c);

        for (size_t i = 0; i < config_table_n; i++) {
                const char *v = envp_get(envp, config_table[i].env);

                if (!v)
                        continue;
                r = config_set_from_text(c, config_table + i, v, CONFIG_SOURCE_ENV, ret_error);
                if (r < 0)
                        return r;
        }

        /* A typo in a variable name would otherwise be silently ignored. Not
         * an error: other lean-host tools may read LEAN_HOST_MCP_* too. */
        for (char **e = envp; e && *e; e++) {
                size_t n = strcspn(*e, "=");
                bool known = false;

                if (!strneq(*e, "LEAN_HOST_MCP_", strlen("LEAN_HOST_MCP_")))
                        continue;
                for (size_t i = 0; i < config_table_n; i++)
                        if (strlen(config_table[i].env) == n && strneq(config_table[i].env, *e, n))
                                known = true;
                if (!known)
                        log_warning("Ignoring unknown environment variable %.*s.", (int) MIN(n, (size_t) 128), *e);
        }
        return 0;
}
