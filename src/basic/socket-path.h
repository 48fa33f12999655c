/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where lean-hostd.socket listens (ListenStream=%t/lean-host/mcp.sock): the
 * daemon binds it when started by hand, the bridge and lean-hostctl connect
 * to it. One rule for all of them, so a daemon started without
 * XDG_RUNTIME_DIR is found by a bridge started without it:
 *   $XDG_RUNTIME_DIR/lean-host/mcp.sock, when that is set (and absolute);
 *   /run/user/UID/lean-host/mcp.sock, when that directory exists and is ours;
 *   /tmp/lean-host-UID/lean-host/mcp.sock otherwise (packaging/quickstart.sh
 *   uses the same).
 * Inline so the bridge needs no library. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/macro.h"

static inline int socket_path_default(char **ret) {
        const char *rt = getenv("XDG_RUNTIME_DIR");
        char run_user[64];
        struct stat st;
        int r;

        if (!isempty(rt) && rt[0] == '/')
                r = asprintf(ret, "%s/lean-host/mcp.sock", rt);
        else {
                (void) snprintf(run_user, sizeof(run_user), "/run/user/%u", (unsigned) getuid());
                if (stat(run_user, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid())
                        r = asprintf(ret, "%s/lean-host/mcp.sock", run_user);
                else
                        r = asprintf(ret, "/tmp/lean-host-%u/lean-host/mcp.sock", (unsigned) getuid());
        }
        return r < 0 ? -ENOMEM : 0;
}
