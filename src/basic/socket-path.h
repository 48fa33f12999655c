/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where lean-hostd.socket listens (ListenStream=%t/lean-host/mcp.sock): the
 * daemon binds it when started by hand, the bridge connects to it. Inline so
 * the bridge needs no library. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "basic/macro.h"

static inline int socket_path_default(char **ret) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        int r;

        if (!isempty(rt) && rt[0] == '/')
                r = asprintf(ret, "%s/lean-host/mcp.sock", rt);
        else
                r = asprintf(ret, "/run/user/%u/lean-host/mcp.sock", (unsigned) getuid());
        return r < 0 ? -ENOMEM : 0;
}
